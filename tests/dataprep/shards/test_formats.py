"""Shard formats: Megatron checked by an independent reader written here from the format
description, Parquet read back by Hugging Face ``datasets``."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataprep.errors import FormatError
from dataprep.shards.formats import (
    index_bytes,
    megatron_bytes,
    parquet_shard_bytes,
    read_index,
    read_megatron,
    read_parquet_shard,
    token_dtype,
)
from dataprep.shards.packing import pack

EOS, PAD = 2, 3


def sample_packed(vocab: int = 400, seg: bool = True, last: str = "pad"):
    rng = np.random.default_rng(0)
    docs = [np.append(rng.integers(4, vocab, rng.integers(0, 90)), EOS).astype(np.int32) for _ in range(40)]
    return docs, pack(docs, 64, PAD, segment_ids=seg, last_sequence=last)


def independent_megatron_reader(prefix: str) -> list[np.ndarray]:
    """Megatron-LM ``MMIDIDX`` v1 from its description: 9-byte magic, u64 version, u8 dtype code,
    u64 sequence count, u64 document count, int32 lengths, int64 byte pointers, int64 doc indices."""
    with open(prefix + ".idx", "rb") as f:
        idx = f.read()
    assert idx[:9] == b"MMIDIDX\x00\x00"
    version, code, nseq, ndoc = struct.unpack("<QBQQ", idx[9:34])
    assert version == 1
    dtype = {8: np.uint16, 4: np.int32}[code]
    pos = 34
    lengths = struct.unpack(f"<{nseq}i", idx[pos : pos + 4 * nseq])
    pos += 4 * nseq
    pointers = struct.unpack(f"<{nseq}q", idx[pos : pos + 8 * nseq])
    pos += 8 * nseq
    docs = struct.unpack(f"<{ndoc}q", idx[pos : pos + 8 * ndoc])
    assert pos + 8 * ndoc == len(idx)
    assert docs[0] == 0 and docs[-1] == nseq
    with open(prefix + ".bin", "rb") as f:
        data = f.read()
    size = np.dtype(dtype).itemsize
    return [np.frombuffer(data[p : p + n * size], dtype=np.dtype(dtype).newbyteorder("<")) for p, n in zip(pointers, lengths)]


@pytest.mark.parametrize("vocab_size", [400, 256_000])
def test_megatron_pair_read_by_an_independent_reader(tmp_path, vocab_size: int) -> None:
    _, packed = sample_packed(vocab_size, last="short")
    dtype = token_dtype(vocab_size)
    data, index = megatron_bytes(packed, dtype)
    (tmp_path / "s.bin").write_bytes(data)
    (tmp_path / "s.idx").write_bytes(index)
    got = independent_megatron_reader(str(tmp_path / "s"))
    assert [g.astype(np.int32).tolist() for g in got] == [s.tolist() for s in packed.sequences()]
    assert index[17] == (8 if vocab_size < 65500 else 4)
    again = read_megatron(str(tmp_path / "s.bin"), str(tmp_path / "s.idx"))
    assert np.array_equal(again.tokens, packed.tokens) and np.array_equal(again.lengths, packed.lengths)


def test_megatron_reader_rejects_a_foreign_or_inconsistent_index(tmp_path) -> None:
    _, packed = sample_packed()
    data, index = megatron_bytes(packed, np.uint16)
    (tmp_path / "s.bin").write_bytes(data[:-2])
    (tmp_path / "s.idx").write_bytes(index)
    with pytest.raises(FormatError, match="does not match"):
        read_megatron(str(tmp_path / "s.bin"), str(tmp_path / "s.idx"))
    (tmp_path / "s.idx").write_bytes(b"NOTMEGA" + index[7:])
    with pytest.raises(FormatError, match="not a Megatron index"):
        read_megatron(str(tmp_path / "s.bin"), str(tmp_path / "s.idx"))


def test_token_ids_too_large_for_the_dtype_are_refused() -> None:
    _, packed = sample_packed(70_000)
    with pytest.raises(ValueError):
        megatron_bytes(packed._replace(tokens=packed.tokens + 70_000), np.uint16)


@pytest.mark.parametrize("encoding", ["delta", "plain", "byte_stream_split"])
def test_parquet_shard_round_trip_and_datasets_reads_it(tmp_path, encoding: str) -> None:
    datasets = pytest.importorskip("datasets")
    _, packed = sample_packed()
    blob = parquet_shard_bytes(packed, segment_ids=True, encoding=encoding)
    assert blob == parquet_shard_bytes(packed, segment_ids=True, encoding=encoding)  # deterministic bytes
    meta = pq.ParquetFile(pa.BufferReader(blob)).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    wanted = {"delta": "DELTA_BINARY_PACKED", "plain": "PLAIN", "byte_stream_split": "BYTE_STREAM_SPLIT"}[encoding]
    assert all(wanted in e and "RLE_DICTIONARY" not in e for e in encodings.values()), encodings
    back = read_parquet_shard(blob)
    assert np.array_equal(back.tokens, packed.tokens) and np.array_equal(back.segment_ids, packed.segment_ids)
    train = tmp_path / "parquet" / "train"
    train.mkdir(parents=True)
    (train / "shard-00000-of-00001.parquet").write_bytes(blob)
    ds = datasets.load_dataset("parquet", data_dir=str(tmp_path / "parquet"), cache_dir=str(tmp_path / "hf"))
    rows = ds["train"]
    assert rows.column_names == ["input_ids", "segment_ids"]
    assert [list(r) for r in rows["input_ids"]] == [s.tolist() for s in packed.sequences()]
    assert np.array_equal(np.concatenate([np.array(r) for r in rows["segment_ids"]]), packed.segment_ids)


def test_document_index_locates_every_document(tmp_path) -> None:
    docs, packed = sample_packed()
    ids = [f"web/f#{i}" for i in range(len(docs))]
    n = len(ids)
    copies = SimpleNamespace(ids=ids, sources=["web"] * n, piece=[0] * n, pieces=[1] * n, copy=[0] * n, start=[0] * n, end=[10] * n)
    path = tmp_path / "i.parquet"
    path.write_bytes(index_bytes(copies, packed))
    table = read_index(str(path))
    assert table.column("id").to_pylist() == ids
    assert table.column_names == ["id", "source", "piece", "pieces", "copy", "char_start", "char_end", "offset", "length"]
    for off, ln, d in zip(table.column("offset").to_pylist(), table.column("length").to_pylist(), docs):
        assert packed.tokens[off : off + ln].tolist() == d.tolist()


def test_parquet_shard_refuses_an_unknown_encoding() -> None:
    _, packed = sample_packed()
    with pytest.raises(ValueError, match="delta, plain, byte_stream_split"):
        parquet_shard_bytes(packed, segment_ids=False, encoding="rle")


def test_every_recipe_encoding_has_a_codec() -> None:
    from dataprep.shards.config import PARQUET_ENCODINGS, ShardsConfig
    from dataprep.shards.formats import PARQUET_CODECS

    assert tuple(PARQUET_CODECS) == PARQUET_ENCODINGS
    assert ShardsConfig().parquet_encoding == "delta"
