"""Training with the store and the run folder behind a `dataprep.fs.FileSystem` and a
`dataprep.fs.FileWriter`: a dict-backed object store written here (no Beam), the same bytes as a
local run, the up-to-date check read through it; and the small file helpers it relies on."""

from __future__ import annotations

import fnmatch
import io
import os
from pathlib import Path
from typing import BinaryIO, Iterator

import pytest

from dataprep.errors import FormatError
from dataprep.fs import FileInfo, LocalFileSystem, LocalFileWriter, is_url, join_path, read_file_bytes
from dataprep.store import part_files, source_part_files
from tests.vocab.conftest import make_recipe
from vocab.train import MANIFEST_FILE, check_store, current_manifest, input_fingerprint, train_vocab
from vocab.model import MODEL_FILE

ROOT = "dict://bucket"


class DictStore:
    """An object store in a dict: `FileSystem` and `FileWriter` at once. No folders; every
    write and delete is recorded so tests can check the write order."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.log: list[tuple[str, str]] = []

    # FileSystem
    def match(self, pattern: str) -> list[FileInfo]:
        return sorted(FileInfo(p, len(d)) for p, d in self.files.items() if fnmatch.fnmatchcase(p, pattern))

    def open(self, path: str) -> BinaryIO:
        if path not in self.files:
            raise FileNotFoundError(path)
        return io.BytesIO(self.files[path])

    def is_dir(self, path: str) -> bool:
        return False

    def walk(self, root: str) -> Iterator[FileInfo]:
        yield from self.match(root.rstrip("/") + "/**")

    def is_symlink(self, path: str) -> bool:
        return False

    # FileWriter
    def write_bytes(self, path: str, data: bytes) -> None:
        self.files[path] = bytes(data)
        self.log.append(("write", path.rsplit("/", 1)[-1]))

    def remove(self, path: str) -> None:
        self.files.pop(path, None)
        self.log.append(("remove", path.rsplit("/", 1)[-1]))

    def upload(self, local_root: Path, prefix: str) -> None:
        for d, _, names in os.walk(local_root):
            for name in names:
                path = os.path.join(d, name)
                self.files[f"{prefix}/{os.path.relpath(path, local_root)}"] = Path(path).read_bytes()


@pytest.fixture
def remote_store(small_store: Path) -> DictStore:
    store = DictStore()
    store.upload(small_store, f"{ROOT}/run")
    return store


def test_training_from_an_object_store_gives_the_local_bytes(remote_store: DictStore, trained) -> None:
    local_run, local_manifest = trained
    manifest = train_vocab(make_recipe(), f"{ROOT}/run", fs=remote_store, writer=remote_store)
    assert not manifest["skipped"]
    for name in (MODEL_FILE, "spm.vocab", MANIFEST_FILE):
        assert remote_store.files[f"{ROOT}/run/vocab/{name}"] == (local_run / "vocab" / name).read_bytes(), name
    # The old manifest goes first, the new manifest is written last.
    assert remote_store.log == [("remove", MANIFEST_FILE), ("write", MODEL_FILE), ("write", "spm.vocab"), ("write", MANIFEST_FILE)]
    assert manifest["input_fingerprint"] == local_manifest["input_fingerprint"]

    remote_store.log.clear()
    again = train_vocab(make_recipe(), f"{ROOT}/run", fs=remote_store, writer=remote_store)
    assert again["skipped"] and remote_store.log == []


def test_a_changed_model_on_the_object_store_is_retrained(remote_store: DictStore) -> None:
    first = train_vocab(make_recipe(), f"{ROOT}/run", fs=remote_store, writer=remote_store)
    model = f"{ROOT}/run/vocab/{MODEL_FILE}"
    good = remote_store.files[model]
    remote_store.files[model] = good[:-1]
    assert current_manifest(f"{ROOT}/run/vocab", first["fingerprint"], remote_store) is None
    again = train_vocab(make_recipe(), f"{ROOT}/run", fs=remote_store, writer=remote_store)
    assert not again["skipped"] and remote_store.files[model] == good
    # A truncated manifest is not trusted either.
    remote_store.files[f"{ROOT}/run/vocab/{MANIFEST_FILE}"] = b'{"format": "dataprep-vo'
    assert current_manifest(f"{ROOT}/run/vocab", first["fingerprint"], remote_store) is None


def test_store_and_output_on_different_filesystems(remote_store: DictStore, tmp_path: Path) -> None:
    """``--input`` on the object store, output written by the same writer under another prefix."""
    manifest = train_vocab(make_recipe(), f"{ROOT}/other", f"{ROOT}/run", fs=remote_store, writer=remote_store)
    assert f"{ROOT}/other/vocab/{MANIFEST_FILE}" in remote_store.files and not manifest["skipped"]


def test_an_empty_object_store_asks_for_a_build(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no document store"):
        check_store(f"{ROOT}/nothing", DictStore())
    with pytest.raises(FormatError, match="no document store"):
        check_store(str(tmp_path))


def test_input_fingerprint_is_the_same_through_any_filesystem(remote_store: DictStore, small_store: Path) -> None:
    local = input_fingerprint(str(small_store), ["prose", "code"])
    assert input_fingerprint(f"{ROOT}/run", ["prose", "code"], remote_store) == local
    assert input_fingerprint(str(small_store), ["prose", "code"], LocalFileSystem()) == local
    # With a build manifest, its checksum identifies the store.
    remote_store.files[f"{ROOT}/run/build-manifest.json"] = b"{}"
    assert input_fingerprint(f"{ROOT}/run", ["prose"], remote_store) == input_fingerprint(f"{ROOT}/run", ["code"], remote_store)
    assert input_fingerprint(f"{ROOT}/run", ["prose"], remote_store) != local


def test_source_part_files_lists_what_part_files_lists(small_store: Path, remote_store: DictStore) -> None:
    fs = LocalFileSystem()
    for name in ("prose", "code"):
        local = source_part_files(fs, str(small_store), name)
        assert [f.path for f in local] == part_files(str(small_store), [name])
        assert [f.size for f in local] == [os.path.getsize(f.path) for f in local]
        remote = source_part_files(remote_store, f"{ROOT}/run", name)
        assert [f.path[len(ROOT) + 5 :] for f in remote] == [os.path.relpath(f.path, small_store) for f in local]
    assert source_part_files(fs, str(small_store), "absent") == []
    assert source_part_files(remote_store, f"{ROOT}/run", "absent") == []


def test_join_path_and_is_url() -> None:
    assert join_path("gs://b/run", "vocab", "spm.model") == "gs://b/run/vocab/spm.model"
    assert join_path("gs://b/run/", "vocab") == "gs://b/run/vocab"
    assert join_path("out", "vocab") == os.path.join("out", "vocab")
    assert is_url("s3://b/x") and not is_url("/tmp/x") and not is_url("relative/x")


def test_read_file_bytes(tmp_path: Path, remote_store: DictStore) -> None:
    (tmp_path / "a.json").write_bytes(b"{}")
    assert read_file_bytes(LocalFileSystem(), str(tmp_path / "a.json")) == b"{}"
    assert read_file_bytes(LocalFileSystem(), str(tmp_path / "missing.json")) is None
    remote_store.files[f"{ROOT}/x"] = b"x"
    assert read_file_bytes(remote_store, f"{ROOT}/x") == b"x"
    assert read_file_bytes(remote_store, f"{ROOT}/y") is None


def test_local_file_writer(tmp_path: Path) -> None:
    writer = LocalFileWriter()
    path = str(tmp_path / "new" / "folder" / "f.bin")
    writer.write_bytes(path, b"one")
    writer.write_bytes(path, b"two")
    assert Path(path).read_bytes() == b"two"
    assert os.listdir(tmp_path / "new" / "folder") == ["f.bin"]  # no temporary file left
    writer.remove(path)
    writer.remove(path)  # absent: no error
    assert not os.path.exists(path)


def test_vocab_train_cli_points_object_stores_to_dataprep_run(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dataprep.cli import main
    from tests.vocab.test_cli import RECIPE

    (tmp_path / "recipe.yaml").write_text(RECIPE)
    for args in (["--out", "gs://bucket/run"], ["--out", str(tmp_path / "run"), "--input", "s3://bucket/store"]):
        res = CliRunner().invoke(main, ["vocab", "train", str(tmp_path / "recipe.yaml"), *args])
        assert res.exit_code == 2, res.output
        assert "dataprep run RECIPE --out" in res.output and "local folders" in res.output
    assert not (tmp_path / "run").exists()
