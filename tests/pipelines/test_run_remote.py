"""``dataprep run`` with its run folder on an object store (the dict-backed ``memfs://`` of
`tests.pipelines.memfs`, under a prefix of its own): build, vocabulary and shards all write
there, the result verifies, is byte-identical to a local run, and a second run skips every
stage through freshness checks that read the object store."""

from __future__ import annotations

import os
import uuid

import pytest
from click.testing import CliRunner

from dataprep.cli import main
from dataprep.recipe import load_recipe
from dataprep.shards.verify import verify_shards
from tests.dataprep.shards.helpers import make_docs, write_text_recipe

WEIGHTS = {"web": 0.6, "news": 0.1, "books": 0.3}


@pytest.fixture
def recipe_path(tmp_path) -> str:
    """A three-source text recipe over files in ``tmp_path`` (a vocabulary of 480 pieces and
    30,000 tokens of 128-token sequences: seconds to run)."""
    corpus = {"web": make_docs("web", 150), "news": make_docs("news", 15), "books": make_docs("books", 20, words=(50, 200))}
    return write_text_recipe(tmp_path, corpus, WEIGHTS, name="remote-run")


@pytest.fixture
def remote_root():
    """A fresh ``memfs://run-test-<uuid>/run`` (never ``memfs://bucket``, which other tests
    compare whole), emptied afterwards."""
    from tests.pipelines import memfs  # registers the memfs:// scheme with Beam

    root = f"memfs://run-test-{uuid.uuid4().hex}/run"
    yield root
    bucket = root.rsplit("/", 1)[0] + "/"
    for key in [k for k in memfs.FILES if k.startswith(bucket)]:
        del memfs.FILES[key]


def _objects(root: str) -> dict[str, bytes]:
    from tests.pipelines import memfs

    return {k[len(root) + 1 :]: v for k, v in memfs.FILES.items() if k.startswith(root + "/")}


def _local_files(root: str) -> dict[str, bytes]:
    out = {}
    for d, _, names in os.walk(root):
        for name in names:
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root).replace(os.sep, "/")] = f.read()
    return out


def test_run_on_an_object_store_writes_every_stage_verifies_and_then_skips(recipe_path, remote_root, tmp_path) -> None:
    from pipelines.commands.run import run_all
    from pipelines.fs import BeamFileSystem
    from pipelines.shards import load_vocab

    first = run_all(load_recipe(recipe_path), remote_root)
    assert [(stage, status) for stage, status, _ in first["stages"]] == [("build", "ran"), ("vocab", "ran"), ("shards", "ran")]
    objects = _objects(remote_root)
    assert {"build-manifest.json", "vocab/spm.model", "vocab/spm.vocab", "vocab/vocab.json", "shards/manifest.json"} <= set(objects)
    assert not [k for k in objects if ".tmp-" in k or ".shards.partial" in k], "temporary objects left behind"

    vocab = load_vocab(f"{remote_root}/vocab")
    checks = verify_shards(remote_root, vocab, fs=BeamFileSystem())
    assert checks and all(c.ok for c in checks), checks

    # The same recipe run on local disk gives the same bytes: the store read through Beam's
    # filesystem samples the same text and the vocabulary is trained the same way.
    local = str(tmp_path / "local-run")
    run_all(load_recipe(recipe_path), local)
    on_disk = _local_files(local)
    for rel in ("build-manifest.json", "vocab/spm.model", "vocab/spm.vocab", "vocab/vocab.json", "shards/manifest.json"):
        assert objects[rel] == on_disk[rel], rel
    assert {k for k in objects if k.startswith("shards/")} == {k for k in on_disk if k.startswith("shards/")}

    # Second run, through the CLI: every freshness check reads the object store.
    result = CliRunner().invoke(main, ["run", recipe_path, "--out", remote_root])
    assert result.exit_code == 0, result.output
    assert "build: up to date, skipped" in result.output and "shards: up to date, skipped" in result.output
    table = {line.split()[0]: line.split()[1] for line in result.output.splitlines() if line.split()[:1] in (["build"], ["vocab"], ["shards"]) and len(line.split()) == 3}
    assert table == {"build": "skipped", "vocab": "skipped", "shards": "skipped"}, result.output
    assert _objects(remote_root) == objects  # nothing rewritten


def test_run_on_an_object_store_redoes_what_changed(recipe_path, remote_root) -> None:
    """A stale or missing output on the object store is noticed: a vocabulary model that no
    longer matches its manifest is retrained, a missing shard file makes the shards stage run
    again."""
    from tests.pipelines import memfs
    from pipelines.commands.run import run_all

    first = run_all(load_recipe(recipe_path), remote_root)
    model = f"{remote_root}/vocab/spm.model"
    good = memfs.FILES[model]
    memfs.FILES[model] = good + b"\x00"
    again = run_all(load_recipe(recipe_path), remote_root)
    # Retraining is deterministic: the same model comes back, so the shards (keyed on the
    # model's checksum) are still current.
    assert [st for _, st, _ in again["stages"]] == ["skipped", "ran", "skipped"]
    assert memfs.FILES[model] == good
    assert again["shards"] == first["shards"]
    shard = first["shards"]["shards"][0]["files"]["index"]["path"]
    del memfs.FILES[f"{remote_root}/shards/{shard}"]
    assert [st for _, st, _ in run_all(load_recipe(recipe_path), remote_root)["stages"]] == ["skipped", "skipped", "ran"]


def test_beam_file_writer_writes_atomically_and_removes(remote_root, tmp_path) -> None:
    from tests.pipelines import memfs
    from pipelines.fs import BeamFileWriter

    writer = BeamFileWriter()
    path = f"{remote_root}/vocab/x.bin"
    writer.write_bytes(path, b"one")
    writer.write_bytes(path, b"two")  # replaces
    assert memfs.FILES[path] == b"two"
    assert [k for k in memfs.FILES if k.startswith(remote_root)] == [path]  # no temporary object left
    writer.remove(path)
    writer.remove(path)  # absent: no error
    assert path not in memfs.FILES
    local = str(tmp_path / "sub" / "y.bin")
    writer.write_bytes(local, b"local")
    assert open(local, "rb").read() == b"local"
    writer.remove(local)
    writer.remove(local)
    assert not os.path.exists(local)
