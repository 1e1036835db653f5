"""Shard file formats: bytes out of a `Packed` stream, and readers that invert them.

Parquet shard (Hugging Face ``datasets.load_dataset("parquet", ...)`` reads it):
    columns ``input_ids`` list<int32> (one row per sequence) and, when asked, ``segment_ids``
    list<int32>; schema metadata ``format = dataprep-shards v1``; row groups of 1,024 rows; ids
    DELTA_BINARY_PACKED without compression (``parquet_encoding: delta``, the default), or PLAIN
    or BYTE_STREAM_SPLIT with zstd.

Megatron-LM indexed dataset (``megatron/core/datasets/indexed_dataset.py``, ``MMIDIDX``):
    ``.bin``: the token stream, little-endian, dtype uint16 when the vocabulary has fewer than
    65,500 ids (Megatron's ``DType.optimal_dtype``) else int32.
    ``.idx``: ``b"MMIDIDX\\x00\\x00"`` (9 bytes), version ``<Q`` = 1, dtype code ``<B`` (8 uint16,
    4 int32), sequence count ``<Q``, document count ``<Q``, then int32 sequence lengths,
    int64 sequence byte offsets into ``.bin``, int64 document indices. Every packed sequence
    is written as one sequence and one document (document indices ``0, 1, ..., n``): the
    sequences are already packed, and Megatron's own sampler may treat them as documents.

Document index (provenance, one per shard): Parquet with one row per piece copy in stream
order: ``id`` (store document id), ``source``, ``piece`` (index of the piece within the
document), ``pieces`` (how many pieces the document was cut into), ``copy`` (repeat index), ``char_start``/``char_end`` (int64, the piece's character
range in the document's text), ``offset`` (int64, first token in the shard's stream) and
``length`` (int32, tokens including the end-of-document id).

All writers return bytes and are deterministic (no timestamps), so equal inputs give equal
files and checksums whatever the worker count.
"""

from __future__ import annotations

import io
import struct
from typing import Any, BinaryIO, NamedTuple, Union

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataprep.errors import FormatError
from dataprep.shards.packing import Packed

SHARDS_FORMAT = "dataprep-shards v1"
MEGATRON_MAGIC = b"MMIDIDX\x00\x00"
MEGATRON_VERSION = 1
# Megatron's DType codes (indexed_dataset.DType).
MEGATRON_DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}
MEGATRON_CODES = {np.dtype(v): k for k, v in MEGATRON_DTYPES.items()}
ROW_GROUP_ROWS = 1024
# `ShardsConfig.parquet_encoding` -> (Parquet encoding of the id columns, compression). Delta
# is not compressed: zstd found nothing more in its bit-packed ids (25.0 MB either way for 14 M
# tokens of benchmarks/shards.py), and only doubled the time to write them.
PARQUET_CODECS = {
    "delta": ("DELTA_BINARY_PACKED", "none"),
    "plain": ("PLAIN", "zstd"),
    "byte_stream_split": ("BYTE_STREAM_SPLIT", "zstd"),
}


def token_dtype(vocab_size: int) -> np.dtype:
    """Megatron's ``DType.optimal_dtype``: uint16 below 65,500 ids, int32 otherwise.

    >>> token_dtype(32000), token_dtype(256000)
    (dtype('uint16'), dtype('int32'))
    """
    return np.dtype(np.uint16 if vocab_size < 65500 else np.int32)


def _list_array(values: np.ndarray, lengths: np.ndarray) -> pa.ListArray:
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values.astype(np.int32, copy=False), pa.int32()))


def parquet_schema(segment_ids: bool) -> pa.Schema:
    """Schema of a Parquet shard."""
    fields = [pa.field("input_ids", pa.list_(pa.int32()))]
    if segment_ids:
        fields.append(pa.field("segment_ids", pa.list_(pa.int32())))
    return pa.schema(fields, metadata={b"format": SHARDS_FORMAT.encode()})


def parquet_shard_bytes(packed: Packed, segment_ids: bool, encoding: str = "delta") -> bytes:
    """A Parquet shard's bytes: one row per sequence, written one row group (1,024 sequences)
    at a time, so only that row group is ever converted to int32 (a shard's stream may be in a
    compact dtype). Same bytes as writing the whole table at once with 1,024-row groups.
    ``encoding`` is ``delta``, ``plain`` or ``byte_stream_split`` for the id columns (see
    `dataprep.shards.config.ShardsConfig.parquet_encoding`)."""
    if segment_ids and packed.segment_ids is None:
        raise ValueError("segment_ids requested but the packed stream has none")
    if encoding not in PARQUET_CODECS:
        raise ValueError(f"unknown Parquet encoding {encoding!r}: one of {', '.join(PARQUET_CODECS)}")
    column_encoding, compression = PARQUET_CODECS[encoding]
    schema = parquet_schema(segment_ids)
    starts = np.concatenate([[0], np.cumsum(packed.lengths, dtype=np.int64)])
    buf = io.BytesIO()
    # No dictionary encoding: on token ids it gave files 40% larger (37.4 against 26.2 MB for
    # 27.7 M tokens, zstd, benchmarks/shards.py corpora) and cost 8% more time to write.
    with pq.ParquetWriter(
        buf,
        schema,
        compression=compression,
        use_dictionary=False,
        write_statistics=False,
        column_encoding={f"{f.name}.list.element": column_encoding for f in schema},
    ) as writer:
        for r in range(0, max(len(packed.lengths), 1), ROW_GROUP_ROWS):
            rows = packed.lengths[r : r + ROW_GROUP_ROWS]
            a, b = int(starts[r]), int(starts[r + len(rows)])
            columns = [_list_array(packed.tokens[a:b], rows)]
            if segment_ids:
                columns.append(_list_array(packed.segment_ids[a:b], rows))
            writer.write_table(pa.Table.from_arrays(columns, schema=schema), row_group_size=ROW_GROUP_ROWS)
    return buf.getvalue()


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", row_group_size=ROW_GROUP_ROWS, write_statistics=False)
    return buf.getvalue()


class Stream(NamedTuple):
    """A shard read back: flat tokens, sequence lengths, segment ids (or None)."""

    tokens: np.ndarray
    lengths: np.ndarray
    segment_ids: np.ndarray | None


# What the readers take: a local path, the file's bytes, or an open binary file (any seekable
# stream, e.g. from a `dataprep.fs.FileSystem`), so shards on any filesystem can be read back.
Source = Union[str, bytes, bytearray, memoryview, BinaryIO]


def _name(src: Source, name: str | None, default: str) -> str:
    """What an error message calls ``src``: ``name`` if given, else its path, else ``default``."""
    if name:
        return name
    if isinstance(src, str):
        return src
    path = getattr(src, "name", None)
    return path if isinstance(path, str) else default


def _arrow_source(src: Source) -> Any:
    """``src`` in a form ``pyarrow.parquet`` reads: paths and files as they are, bytes wrapped."""
    return pa.BufferReader(src) if isinstance(src, (bytes, bytearray, memoryview)) else src


def _read_all(src: Source) -> bytes | bytearray | memoryview:
    """The whole content of ``src`` (a path is opened, a file read from its current position)."""
    if isinstance(src, str):
        with open(src, "rb") as f:
            return f.read()
    if isinstance(src, (bytes, bytearray, memoryview)):
        return src
    return src.read()


def read_parquet_shard(src: Source, *, name: str | None = None) -> Stream:
    """Read a Parquet shard back into a flat stream (vectorised: no per-token Python).

    Args:
        src: the shard's local path, its bytes, or an open binary file.
        name: what error messages call the shard (default: the path, or the file's name).

    Raises:
        FormatError: the data is not Parquet or has no ``input_ids`` column.
    """
    label = _name(src, name, "shard")
    try:
        table = pq.read_table(_arrow_source(src))
    except (OSError, pa.ArrowException) as e:
        raise FormatError(f"{label}: unreadable Parquet: {e}") from None
    if "input_ids" not in table.column_names:
        raise FormatError(f"{label}: no input_ids column")
    ids = table.column("input_ids").combine_chunks()
    lengths = np.diff(ids.offsets.to_numpy()).astype(np.int32) if len(ids) else np.zeros(0, np.int32)
    tokens = ids.flatten().to_numpy(zero_copy_only=False).astype(np.int32) if len(ids) else np.zeros(0, np.int32)
    seg = None
    if "segment_ids" in table.column_names:
        s = table.column("segment_ids").combine_chunks()
        seg = s.flatten().to_numpy(zero_copy_only=False).astype(np.int32) if len(s) else np.zeros(0, np.int32)
    return Stream(tokens, lengths, seg)


def megatron_bytes(packed: Packed, dtype: np.dtype) -> tuple[memoryview, bytes]:
    """(``.bin``, ``.idx``) bytes of one shard in Megatron-LM's ``MMIDIDX`` version 1 layout
    (the ``.bin`` as a byte memoryview over the stream when no conversion is needed)."""
    dtype = np.dtype(dtype)
    if dtype not in MEGATRON_CODES:
        raise ValueError(f"no Megatron dtype code for {dtype}")
    if len(packed.tokens) and (int(packed.tokens.max()) > np.iinfo(dtype).max or int(packed.tokens.min()) < 0):
        raise ValueError(f"token ids out of range for {dtype}")
    # A memoryview of the stream when it already has the file's dtype: no copy of the shard.
    data = memoryview(np.ascontiguousarray(packed.tokens, dtype=dtype.newbyteorder("<"))).cast("B")
    n = len(packed.lengths)
    lengths = packed.lengths.astype("<i4")
    pointers = (np.concatenate([[0], np.cumsum(lengths[:-1], dtype=np.int64)]) * dtype.itemsize).astype("<i8") if n else np.zeros(0, "<i8")
    doc_idx = np.arange(n + 1, dtype="<i8")
    header = MEGATRON_MAGIC + struct.pack("<Q", MEGATRON_VERSION) + struct.pack("<B", MEGATRON_CODES[dtype])
    header += struct.pack("<Q", n) + struct.pack("<Q", len(doc_idx))
    index = header + lengths.tobytes() + pointers.tobytes() + doc_idx.tobytes()
    return data, index


def read_megatron(bin_src: Source, idx_src: Source, *, bin_name: str | None = None, idx_name: str | None = None) -> Stream:
    """Read a Megatron ``.bin``/``.idx`` pair back into a flat stream.

    Args:
        bin_src, idx_src: each a local path, the file's bytes, or an open binary file.
        bin_name, idx_name: what error messages call the files (default: their paths or names).

    Raises:
        FormatError: the index is not ``MMIDIDX`` version 1, is truncated, or disagrees with the
            data file.
    """
    idx_label = _name(idx_src, idx_name, "Megatron .idx")
    bin_label = _name(bin_src, bin_name, "Megatron .bin")
    blob = _read_all(idx_src)
    if bytes(blob[:9]) != MEGATRON_MAGIC:
        raise FormatError(f"{idx_label}: not a Megatron index (magic {bytes(blob[:9])!r})")
    try:
        (version,) = struct.unpack_from("<Q", blob, 9)
        (code,) = struct.unpack_from("<B", blob, 17)
        n, ndocs = struct.unpack_from("<QQ", blob, 18)
        if version != MEGATRON_VERSION or code not in MEGATRON_DTYPES:
            raise FormatError(f"{idx_label}: version {version}, dtype code {code}: expected version 1, a known code")
        off = 34
        lengths = np.frombuffer(blob, "<i4", n, off)
        pointers = np.frombuffer(blob, "<i8", n, off + 4 * n)
        doc_idx = np.frombuffer(blob, "<i8", ndocs, off + 12 * n)
    except (struct.error, ValueError):
        raise FormatError(f"{idx_label}: truncated Megatron index ({len(blob)} bytes)") from None
    dtype = np.dtype(MEGATRON_DTYPES[code]).newbyteorder("<")
    # A local path is read straight into an array (no intermediate bytes object).
    raw = np.fromfile(bin_src, dtype=np.uint8) if isinstance(bin_src, str) else np.frombuffer(_read_all(bin_src), np.uint8)
    if len(raw) % dtype.itemsize:
        raise FormatError(f"{bin_label}: {len(raw)} bytes is not a whole number of {dtype} tokens")
    tokens = raw.view(dtype)
    expected = np.concatenate([[0], np.cumsum(lengths[:-1], dtype=np.int64)]) * dtype.itemsize if n else pointers
    if int(lengths.sum()) != len(tokens) or not np.array_equal(pointers, expected) or (ndocs and doc_idx[-1] != n):
        raise FormatError(f"{idx_label}: index does not match {bin_label}")
    return Stream(tokens.astype(np.int32), lengths.astype(np.int32), None)


INDEX_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("piece", pa.int32()),
        pa.field("pieces", pa.int32()),
        pa.field("copy", pa.int32()),
        pa.field("char_start", pa.int64()),
        pa.field("char_end", pa.int64()),
        pa.field("offset", pa.int64()),
        pa.field("length", pa.int32()),
    ],
    metadata={b"format": SHARDS_FORMAT.encode()},
)


def index_bytes(copies: Any, packed: Packed) -> bytes:
    """A shard's document index: where each piece copy sits in the shard's stream. ``copies``
    has columns ``ids``, ``sources``, ``piece``, ``pieces``, ``copy``, ``start`` and ``end``
    (sequences or arrays, in stream order), as `dataprep.shards.batches.CopyBatch`."""
    table = pa.Table.from_arrays(
        [
            pa.array(list(copies.ids), pa.string()),
            pa.array(list(copies.sources), pa.string()),
            pa.array(np.asarray(copies.piece, dtype=np.int32), pa.int32()),
            pa.array(np.asarray(copies.pieces, dtype=np.int32), pa.int32()),
            pa.array(np.asarray(copies.copy, dtype=np.int32), pa.int32()),
            pa.array(np.asarray(copies.start, dtype=np.int64), pa.int64()),
            pa.array(np.asarray(copies.end, dtype=np.int64), pa.int64()),
            pa.array(packed.doc_offsets.astype(np.int64), pa.int64()),
            pa.array(packed.doc_lengths.astype(np.int32), pa.int32()),
        ],
        schema=INDEX_SCHEMA,
    )
    return _parquet_bytes(table)


def read_index(src: Source, *, name: str | None = None) -> pa.Table:
    """A shard's document index as an Arrow table (columns of `INDEX_SCHEMA`).

    Args:
        src: the index's local path, its bytes, or an open binary file.
        name: what error messages call the index (default: the path, or the file's name).
    """
    try:
        return pq.read_table(_arrow_source(src))
    except (OSError, pa.ArrowException) as e:
        raise FormatError(f"{_name(src, name, 'document index')}: unreadable document index: {e}") from None
