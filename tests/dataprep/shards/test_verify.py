"""Reading shards back from any filesystem: the format readers take a path, bytes or an open
file alike, and `dataprep.shards.verify` reads manifests through a `FileSystem` (here a
dict-backed one with URL paths, so nothing local is touched). Whole-output verification is
tested on real stage outputs in ``tests/pipelines/test_shards.py`` (local) and
``tests/pipelines/test_shards_remote_verify.py`` (``memfs://``)."""

from __future__ import annotations

import io
import json
import os
from types import SimpleNamespace
from typing import BinaryIO, Iterator

import numpy as np
import pytest

from dataprep.errors import FormatError
from dataprep.fs import FileInfo
from dataprep.shards.formats import SHARDS_FORMAT, index_bytes, megatron_bytes, parquet_shard_bytes, read_index, read_megatron, read_parquet_shard
from dataprep.shards.packing import pack
from dataprep.shards.verify import load, read_file, read_stream

EOS, PAD = 2, 3


def packed_sample():
    rng = np.random.default_rng(1)
    docs = [np.append(rng.integers(4, 400, rng.integers(0, 90)), EOS).astype(np.int32) for _ in range(30)]
    return docs, pack(docs, 64, PAD, segment_ids=True, last_sequence="short")


class DictFileSystem:
    """A `dataprep.fs.FileSystem` over a dict of ``mem://`` paths; ``broken`` paths fail to open
    with an error that is not ``FileNotFoundError``, as object-store clients do."""

    def __init__(self, files: dict[str, bytes], broken: tuple[str, ...] = ()) -> None:
        self.files = files
        self.broken = broken

    def match(self, pattern: str) -> list[FileInfo]:
        import fnmatch

        return sorted(FileInfo(p, len(d)) for p, d in self.files.items() if fnmatch.fnmatchcase(p, pattern))

    def open(self, path: str) -> BinaryIO:
        if path in self.broken:
            raise RuntimeError("connection reset")
        if path not in self.files:
            raise KeyError(path)  # not a FileNotFoundError: the reader must check existence itself
        return io.BytesIO(self.files[path])

    def is_dir(self, path: str) -> bool:
        return any(p.startswith(path.rstrip("/") + "/") for p in self.files)

    def walk(self, root: str) -> Iterator[FileInfo]:
        yield from (f for f in self.match(root.rstrip("/") + "/*") if f.path.startswith(root.rstrip("/") + "/"))

    def is_symlink(self, path: str) -> bool:
        return False


def test_readers_take_a_path_bytes_or_an_open_file(tmp_path) -> None:
    docs, packed = packed_sample()
    parquet = parquet_shard_bytes(packed, segment_ids=True)
    data, idx = megatron_bytes(packed, np.uint16)
    copies = SimpleNamespace(
        ids=[f"web/f#{i}" for i in range(len(docs))], sources=["web"] * len(docs), piece=[0] * len(docs),
        pieces=[1] * len(docs), copy=[0] * len(docs), start=[0] * len(docs), end=[5] * len(docs),
    )
    index = index_bytes(copies, packed)
    for name, blob in (("s.parquet", parquet), ("s.bin", bytes(data)), ("s.idx", idx), ("i.parquet", index)):
        (tmp_path / name).write_bytes(blob)
    p = str(tmp_path)
    by_path = read_parquet_shard(os.path.join(p, "s.parquet"))
    with open(os.path.join(p, "s.parquet"), "rb") as parquet_file:
        for src in (parquet, io.BytesIO(parquet), parquet_file):
            got = read_parquet_shard(src)
            assert np.array_equal(got.tokens, by_path.tokens) and np.array_equal(got.segment_ids, by_path.segment_ids)
            assert np.array_equal(got.tokens, packed.tokens) and np.array_equal(got.lengths, packed.lengths)
    with open(os.path.join(p, "s.bin"), "rb") as bin_file, open(os.path.join(p, "s.idx"), "rb") as idx_file:
        for bin_src, idx_src in (
            (os.path.join(p, "s.bin"), os.path.join(p, "s.idx")),
            (bytes(data), idx),
            (io.BytesIO(bytes(data)), io.BytesIO(idx)),
            (bin_file, idx_file),
        ):
            got = read_megatron(bin_src, idx_src)
            assert np.array_equal(got.tokens, packed.tokens) and np.array_equal(got.lengths, packed.lengths)
    for src in (os.path.join(p, "i.parquet"), index, io.BytesIO(index)):
        assert read_index(src).column("id").to_pylist() == copies.ids


def test_readers_name_the_file_in_their_errors(tmp_path) -> None:
    _, packed = packed_sample()
    data, idx = megatron_bytes(packed, np.uint16)
    with pytest.raises(FormatError, match=r"^gs://b/s\.parquet: unreadable Parquet"):
        read_parquet_shard(b"not parquet", name="gs://b/s.parquet")
    with pytest.raises(FormatError, match=r"^gs://b/i\.parquet: unreadable document index"):
        read_index(io.BytesIO(b"junk"), name="gs://b/i.parquet")
    with pytest.raises(FormatError, match=r"^gs://b/s\.idx: truncated Megatron index"):
        read_megatron(bytes(data), idx[:40], idx_name="gs://b/s.idx")
    with pytest.raises(FormatError, match=r"^gs://b/s\.bin: 3 bytes is not a whole number of uint16 tokens"):
        read_megatron(b"abc", idx, bin_name="gs://b/s.bin")
    with pytest.raises(FormatError, match=r"^s\.idx: index does not match s\.bin"):
        read_megatron(bytes(data)[:-2], idx, bin_name="s.bin", idx_name="s.idx")
    path = tmp_path / "s.parquet"
    path.write_bytes(b"junk")
    with open(path, "rb") as f, pytest.raises(FormatError, match=str(path)):
        read_parquet_shard(f)  # an open local file is named by its path


def test_load_and_read_through_a_filesystem() -> None:
    _, packed = packed_sample()
    manifest = {"format": SHARDS_FORMAT, "shards": []}
    files = {
        "mem://b/run/shards/manifest.json": json.dumps(manifest).encode(),
        "mem://b/old/shards/manifest.json": json.dumps({"format": "dataprep-shards v0"}).encode(),
        "mem://b/bad/shards/manifest.json": b"{not json",
        "mem://b/run/shards/parquet/train/s.parquet": parquet_shard_bytes(packed, segment_ids=False),
    }
    fs = DictFileSystem(files, broken=("mem://b/run/shards/parquet/train/broken.parquet",))
    assert load("mem://b/run", fs) == manifest
    with pytest.raises(FormatError, match=r"mem://b/none/shards/manifest\.json: no manifest"):
        load("mem://b/none", fs)
    with pytest.raises(FormatError, match="expected format 'dataprep-shards v1', found 'dataprep-shards v0'"):
        load("mem://b/old", fs)
    with pytest.raises(FormatError, match="unreadable manifest"):
        load("mem://b/bad", fs)
    shard = {"files": {"parquet": {"path": "parquet/train/s.parquet"}}}
    stream = read_stream("mem://b/run/shards", shard, fs)
    assert np.array_equal(stream.tokens, packed.tokens) and stream.segment_ids is None
    with pytest.raises(FormatError, match=r"mem://b/run/shards/parquet/train/gone\.parquet: missing"):
        read_stream("mem://b/run/shards", {"files": {"parquet": {"path": "parquet/train/gone.parquet"}}}, fs)
    # A file that exists but cannot be read is an error naming it, not "missing".
    files["mem://b/run/shards/parquet/train/broken.parquet"] = b""
    assert read_file(fs, "mem://b/run/shards/nothing") is None
    with pytest.raises(FormatError, match=r"broken\.parquet: unreadable: connection reset"):
        read_file(fs, "mem://b/run/shards/parquet/train/broken.parquet")
