"""The document store: ``DIR/documents/<source>/part-NNNNN-of-MMMMM.parquet``.

Columns: ``id`` (string, unique, sorted within a part), ``source`` (string), ``text`` (string),
``meta`` (string: a JSON object of provenance and tags). Meta is JSON rather than a struct
because its keys differ by source kind; a JSON column keeps one schema for the whole store.
Later stages (dedup, vocab, shards, report) read the store through `iter_documents` or, in Beam,
``pipelines.store.ReadDocumentStore``.
"""

from __future__ import annotations

import glob
import io
import itertools
import json
import os
from typing import BinaryIO, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataprep.errors import FormatError
from dataprep.fs import FileInfo, FileSystem, join_path
from dataprep.records import Document

STORE_FORMAT = "dataprep-documents v1"
BUILD_MANIFEST = "build-manifest.json"
BUILD_FORMAT = "dataprep-build v1"

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("meta", pa.string(), nullable=False),
    ],
    metadata={b"format": STORE_FORMAT.encode()},
)


def part_name(index: int, total: int) -> str:
    """``part_name(0, 3)`` -> ``'part-00000-of-00003.parquet'``."""
    return f"part-{index:05d}-of-{total:05d}.parquet"


def encode_meta(meta: dict) -> str:
    """Meta as canonical JSON (sorted keys), so equal meta gives equal bytes."""
    return json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def documents_to_table(docs: Sequence[Document], text_sizes: Sequence[int] | None = None) -> pa.Table:
    """Documents (in the given order) as an Arrow table with the store schema; ``text_sizes``
    are their texts' UTF-8 lengths when the caller already has them (`text_bytes`)."""
    return pa.table(
        {
            "id": [d.id for d in docs],
            "source": [d.source for d in docs],
            "text": text_array([d.text for d in docs], text_sizes),
            "meta": [encode_meta(d.meta) for d in docs],
        },
        schema=SCHEMA,
    )


def text_array(texts: Sequence[str], sizes: Sequence[int] | None = None) -> pa.Array:
    """``texts`` as an Arrow ``large_string`` array, built from one UTF-8 buffer and offsets.

    Converting the Python strings directly grew Arrow's builder by doubling (a 256 MiB pool peak
    and +281 MiB RSS for 64 MiB of text) and left a UTF-8 copy cached inside every non-ASCII
    ``str`` for as long as the document lives; one join + encode costs one transient copy.
    ``sizes`` are the texts' UTF-8 lengths (`text_bytes`), computed here when not given."""
    if sizes is None:
        sizes = [text_bytes(t) for t in texts]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.asarray(sizes, dtype=np.int64), out=offsets[1:])
    data = "".join(texts).encode("utf-8")
    return pa.LargeStringArray.from_buffers(len(texts), pa.py_buffer(offsets), pa.py_buffer(data))


ROW_GROUP_ROWS = 1024
"""At most this many documents per row group (the store's row-group size before the byte bound)."""

ROW_GROUP_TEXT_BYTES = 64 * 2**20
"""At most this many UTF-8 bytes of text per row group (a single longer document gets a row
group of its own). Every reader decodes a row group whole (``iter_documents``, the vocab stage),
so this bounds their memory: 1,024 books of 1 MB made 1 GB row groups. 64 MiB sits below
Hugging Face datasets' ``config.MAX_ROW_GROUP_SIZE = "100MB"`` (the row-group size its Parquet
writer targets so the Hub's viewer can page through a file) and keeps short-document sources
(web pages of a few KB: 1,024 rows are a few MB) at 1,024 rows, as before."""


def text_bytes(text: str) -> int:
    """UTF-8 length of ``text`` without encoding it when it is ASCII (``str.isascii`` is O(1)
    in CPython: the string object records it)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def row_group_bounds(
    sizes: Sequence[int], max_rows: int = ROW_GROUP_ROWS, max_bytes: int = ROW_GROUP_TEXT_BYTES
) -> list[tuple[int, int]]:
    """Split rows with text sizes ``sizes`` (in order) into consecutive ``(start, stop)`` runs of
    at most ``max_rows`` rows and at most ``max_bytes`` bytes (a row larger than ``max_bytes``
    alone). Greedy and a function of the sizes only, so the same rows give the same groups."""
    bounds: list[tuple[int, int]] = []
    start, total = 0, 0
    for i, size in enumerate(sizes):
        if i > start and (i - start >= max_rows or total + size > max_bytes):
            bounds.append((start, i))
            start, total = i, 0
        total += size
    if len(sizes) > start:
        bounds.append((start, len(sizes)))
    return bounds


def parquet_bytes(
    docs: Sequence[Document],
    max_rows: int = ROW_GROUP_ROWS,
    max_bytes: int = ROW_GROUP_TEXT_BYTES,
    text_sizes: Sequence[int] | None = None,
) -> bytes:
    """One part file's bytes: ``docs`` in the given order, in row groups of at most ``max_rows``
    documents and ``max_bytes`` of text (see `row_group_bounds`), written one row group at a
    time so only one row group's Arrow copy exists besides the documents and the output.
    Statistics only for ``id`` and ``source`` (readers skip by id and detect single-source
    parts; min/max of ``text`` would copy two whole documents into the footer per row group
    and cost +92 MiB while writing 64 MiB of books). Deterministic: no timestamps, fixed
    writer options. No documents give a file with one empty row group (as ``pq.write_table``
    writes an empty table). ``text_sizes``: the texts' UTF-8 lengths, if the caller has them.
    """
    sizes = [text_bytes(d.text) for d in docs] if text_sizes is None else list(text_sizes)
    buf = io.BytesIO()
    with pq.ParquetWriter(
        buf, SCHEMA, compression="zstd", use_dictionary=["source"], write_statistics=["id", "source"]
    ) as writer:
        bounds = row_group_bounds(sizes, max_rows, max_bytes) or [(0, 0)]
        for start, stop in bounds:
            table = documents_to_table(docs[start:stop], sizes[start:stop])
            writer.write_table(table, row_group_size=max(1, stop - start))
    return buf.getvalue()


def table_to_documents(table: pa.Table) -> Iterator[Document]:
    """Rows of a store table as `Document`s."""
    cols = table.to_pydict()
    for i, s, t, m in zip(cols["id"], cols["source"], cols["text"], cols["meta"]):
        yield Document(i, s, t, json.loads(m))


def part_files(store_dir: str, sources: Iterable[str] | None = None) -> list[str]:
    """Local part files of the store at ``store_dir`` (the build's ``--out``), sorted."""
    base = os.path.join(store_dir, "documents")
    if not os.path.isdir(base):
        raise FormatError(f"{store_dir}: no document store (expected {base}/<source>/part-*.parquet)")
    names = sorted(sources) if sources is not None else sorted(os.listdir(base))
    files: list[str] = []
    for name in names:
        files.extend(sorted(glob.glob(os.path.join(base, name, "part-*.parquet"))))
    return files


def source_part_files(fs: FileSystem, store_dir: str, source: str) -> list[FileInfo]:
    """One source's part files (path and size), sorted, read through ``fs``: the same files as
    `part_files` for a local store, and a store on any filesystem ``fs`` serves (gs://, s3://,
    ...). An absent source (or store) gives ``[]``."""
    try:
        return sorted(fs.match(join_path(store_dir, "documents", source, "part-*.parquet")))
    except OSError:  # Beam's filesystems raise BeamIOError (an OSError) when nothing matches
        return []


def iter_documents(store_dir: str, sources: Iterable[str] | None = None) -> Iterator[Document]:
    """Stream every document of a local store (one row group at a time), part by part."""
    for path in part_files(store_dir, sources):
        f = pq.ParquetFile(path)
        for rg in range(f.num_row_groups):
            yield from table_to_documents(f.read_row_group(rg))


# Uncompressed bytes of store rows per list of documents read (all columns, from the part's
# metadata): the reader holds about this much text whatever the store's row groups and however
# many long documents (books) follow one another.
READ_CHUNK_BYTES = 1 << 20
READ_MAX_ROWS = 1024


def document_batches(src: str | BinaryIO, chunk_bytes: int = READ_CHUNK_BYTES) -> Iterator[list[Document]]:
    """Documents of one part file (a local path or an open seekable file; id, source and text,
    meta left empty), in lists of as many rows as fit in ``chunk_bytes`` at the part's widest
    row group's average row size (at least 1, at most `READ_MAX_ROWS`).

    Read as record batches across row groups, one reader call per batch: one call per row
    group cost 75 us each, a third of the read on the shards benchmark store's 64-document row
    groups (0.24 against 0.16 CPU-s at size 2). On one thread: Arrow's thread pool costs more
    than it saves here. The ``source`` column is not decoded when the row groups' statistics
    show a single value (`single_source`), as in every part `dataprep build` writes."""
    f = pq.ParquetFile(src)
    meta = f.metadata
    source = single_source(meta)
    columns = ["id", "text"] if source is not None else ["id", "source", "text"]
    groups = [meta.row_group(rg) for rg in range(meta.num_row_groups)]
    widest = max((g.total_byte_size / g.num_rows for g in groups if g.num_rows), default=1.0)
    rows = int(min(READ_MAX_ROWS, max(1, chunk_bytes // max(widest, 1.0))))
    for batch in f.iter_batches(batch_size=rows, columns=columns, use_threads=False):
        cols = batch.to_pydict()
        sources = cols["source"] if source is None else itertools.repeat(source)
        yield [Document(i, s, t, {}) for i, s, t in zip(cols["id"], sources, cols["text"])]


def single_source(meta: pq.FileMetaData) -> str | None:
    """The value of every row's ``source`` when the row groups' statistics prove it is one
    value (min = max in every group, the same in all), else None."""
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]  # "source" at the top level only
    if "source" not in names or meta.num_row_groups == 0:
        return None
    column = names.index("source")
    values = set()
    for rg in range(meta.num_row_groups):
        stats = meta.row_group(rg).column(column).statistics
        if stats is None or not stats.has_min_max or stats.min != stats.max or stats.null_count:
            return None
        values.add(stats.min)
    return values.pop() if len(values) == 1 else None
