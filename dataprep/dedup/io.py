"""Inputs and outputs of the standalone ``dataprep dedup`` command (JSONL or Parquet).

Each input record becomes a `Document` whose id is the record's ``id_field`` (or, when the
record has none, ``"<file>#<line or row>"``) and whose text is ``text_field``; the rest of the
record rides along in ``meta["record"]`` so the kept records are written back with all their
fields, in input order, one output file per input file (same relative name, same format;
compressed JSONL is written uncompressed). A record that is not a JSON object, lacks the text
field or has a non-string text becomes a `Rejected` with a reason; nothing is dropped silently.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from dataprep.errors import RecipeError
from dataprep.fs import DECOMPRESSION_ERRORS, open_decompressed, strip_compression_suffix
from dataprep.manifest import sha256_file, write_atomic
from dataprep.records import Document, Rejected

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)


def input_format(path: str) -> str:
    """``"jsonl"`` or ``"parquet"`` from the file name (compression suffixes ignored)."""
    base = strip_compression_suffix(path).lower()
    if base.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if base.endswith(JSONL_SUFFIXES):
        return "jsonl"
    raise RecipeError("INPUT", "a .jsonl/.json/.ndjson (optionally .gz/.bz2/.zst) or .parquet file", path)


def list_inputs(inputs: Iterable[str]) -> list[tuple[str, str]]:
    """``(path, relative name)`` of every input file (folders are walked), sorted; the relative
    name is taken from the inputs' common folder. `RecipeError` for a missing path."""
    files: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            for root, _, names in os.walk(item):
                files.extend(os.path.join(root, n) for n in names if not n.startswith("."))
        elif os.path.isfile(item):
            files.append(item)
        else:
            raise RecipeError("INPUT", "an existing file or folder", item)
    files = sorted({os.path.abspath(f) for f in files})
    if not files:
        raise RecipeError("INPUT", "at least one JSONL or Parquet file", list(inputs))
    for f in files:
        input_format(f)
    root = os.path.commonpath([os.path.dirname(f) for f in files])
    return [(f, os.path.relpath(f, root)) for f in files]


def output_name(rel: str) -> str:
    """Output file name of an input: compression suffix removed."""
    return strip_compression_suffix(rel)


def _document(record: Any, rel: str, position: int, id_field: str, text_field: str, source: str) -> Document | Rejected:
    if not isinstance(record, dict):
        return Rejected(source, rel, position, "not_an_object", type(record).__name__)
    text = record.get(text_field)
    if text is None:
        return Rejected(source, rel, position, "missing_text", f"no field '{text_field}'")
    if not isinstance(text, str):
        return Rejected(source, rel, position, "text_not_a_string", type(text).__name__)
    doc_id = record.get(id_field)
    doc_id = f"{rel}#{position}" if doc_id is None else str(doc_id)
    rest = dict(record)
    rest[text_field] = None  # keeps the key's position; the text itself lives in doc.text
    return Document(doc_id, source, text, {"file": rel, "position": position, "record": rest})


def read_records(item: tuple[str, str], id_field: str, text_field: str, source: str) -> Iterator[Document | Rejected]:
    """Stream the records of one input file as `Document`s or `Rejected`s."""
    path, rel = item
    if input_format(path) == "parquet":
        try:
            pf = pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as e:
            yield Rejected(source, rel, None, "unreadable_parquet", str(e)[:500])
            return
        position = 0
        for batch in pf.iter_batches(batch_size=4096):
            for record in batch.to_pylist():
                yield _document(record, rel, position, id_field, text_field, source)
                position += 1
        return
    with open(path, "rb") as raw:
        stream = open_decompressed(raw, path)
        line_no = 0
        try:
            for line_no, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    yield Rejected(source, rel, line_no, "malformed_json", str(e)[:500])
                    continue
                yield _document(record, rel, line_no, id_field, text_field, source)
        except DECOMPRESSION_ERRORS as e:
            yield Rejected(source, rel, line_no + 1, "truncated_or_corrupt_file", str(e)[:500])


def write_kept_streaming(
    item: tuple[str, str], out_dir: str, id_field: str, text_field: str, source: str, excluded: Iterable[tuple[str, Any]]
) -> dict[str, Any]:
    """Write one input's kept records to ``out_dir/documents/<name>`` by reading the input
    again and skipping the records at ``excluded`` ``(file, position)`` places (dropped
    duplicates, duplicate ids) and every unreadable record; input order, all fields, same
    format, written atomically and streamed (memory does not grow with the file). Returns
    ``{input, output, records, sha256}``."""
    path, rel = item
    skip = {pos for f, pos in excluded if f == rel}
    out_path = os.path.join(out_dir, "documents", output_name(rel))
    count = 0

    def kept_records() -> Iterator[dict[str, Any]]:
        nonlocal count
        for d in read_records(item, id_field, text_field, source):
            if isinstance(d, Document) and d.meta["position"] not in skip:
                r = dict(d.meta["record"])
                r[text_field] = d.text
                count += 1
                yield r

    if input_format(path) == "parquet":
        schema = pq.read_schema(path)

        def write(f: Any) -> None:
            with pq.ParquetWriter(f, schema, compression="zstd") as w:
                batch: list[dict[str, Any]] = []
                for r in kept_records():
                    batch.append(r)
                    if len(batch) == 4096:
                        w.write_table(pa.Table.from_pylist(batch, schema=schema))
                        batch = []
                if batch or count == 0:
                    w.write_table(pa.Table.from_pylist(batch, schema=schema))

    else:

        def write(f: Any) -> None:
            for r in kept_records():
                f.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))

    write_atomic(out_path, write)
    return {"input": rel, "output": os.path.relpath(out_path, out_dir), "records": count, "sha256": sha256_file(out_path)}


def write_rejects(rejects: Iterable[Rejected], path: str) -> int:
    """Write rejects as JSONL (sorted by file and position) atomically; returns their number."""
    rows = sorted(rejects, key=lambda r: (r.file, -1 if r.position is None else r.position, r.reason))
    blob = "".join(json.dumps(r._asdict(), ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    write_atomic(path, lambda f: f.write(blob))
    return len(rows)
