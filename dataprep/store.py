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
import json
import os
from typing import Iterable, Iterator, Sequence

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


def documents_to_table(docs: Sequence[Document]) -> pa.Table:
    """Documents (in the given order) as an Arrow table with the store schema."""
    return pa.table(
        {
            "id": [d.id for d in docs],
            "source": [d.source for d in docs],
            "text": [d.text for d in docs],
            "meta": [encode_meta(d.meta) for d in docs],
        },
        schema=SCHEMA,
    )


def parquet_bytes(docs: Sequence[Document]) -> bytes:
    """One part file's bytes. Deterministic: no timestamps, fixed writer options."""
    buf = io.BytesIO()
    pq.write_table(
        documents_to_table(docs),
        buf,
        compression="zstd",
        use_dictionary=["source"],
        write_statistics=True,
        row_group_size=1024,
    )
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
