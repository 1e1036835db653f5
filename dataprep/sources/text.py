"""The ``text`` reader: plain text, JSON lines and Parquet, for news and anything else.

- ``text``: one document per file (``unit: file``) or per non-blank line (``unit: line``);
- ``jsonl``: one document per non-blank line, the text under ``text_field``; ``id_field`` and
  ``meta_fields`` are copied into meta;
- ``parquet``: one document per row, read in batches of rows (never a whole row group), same
  fields as JSONL.

``format: auto`` picks by extension after stripping ``.gz``/``.bz2``/``.zst``: ``.jsonl``,
``.ndjson``, ``.json`` -> jsonl; ``.parquet``, ``.pq`` -> parquet; anything else -> text.

Records stream one at a time: memory holds one line (or one batch of rows, or for ``unit: file``
the one document) whatever the file's size. Positions are 1-based line numbers for ``jsonl``
and ``unit: line`` (what an editor shows), 0-based row indexes for Parquet, 0 for ``unit: file``.

Rejects: ``malformed_json``, ``missing_text_field``, ``invalid_utf8`` (with
``on_decode_error: reject``, naming the byte offset), ``truncated_input`` (a cut or corrupt
compressed stream, after everything readable before the cut), ``malformed_parquet``.
"""

from __future__ import annotations

import codecs
import datetime
import decimal
import json
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator, Literal

from dataprep.errors import RecipeError
from dataprep.fs import DECOMPRESSION_ERRORS, FileSystem, is_compressed, open_decompressed, relative_to_root, strip_compression_suffix
from dataprep.records import Document, ReadResult, Rejected, make_id
from dataprep.sources import ReadContext

FORMATS = ("auto", "text", "jsonl", "parquet")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
# Meta keys the reader sets itself; a meta_fields entry may not overwrite them.
RESERVED_META = ("file", "position", "record_id", "decode_errors")
DETAIL_CHARS = 200
# Rows decoded to Python at a time: 1024 rows of 5 KB documents hold about 5 MB.
PARQUET_BATCH_ROWS = 1024


@dataclass(frozen=True)
class Options:
    """Recipe keys of a ``text`` source (flat in the source's mapping).

    ``format``: ``auto`` (by extension, default), ``text``, ``jsonl`` or ``parquet``.
    ``unit``: for plain text, ``file`` (default: one document per file) or ``line`` (one per
    non-blank line, e.g. one news article per line).
    ``text_field``: JSONL key / Parquet column holding the text (default ``text``).
    ``id_field``: optional key/column of the record's own id, copied to ``meta["record_id"]``
    (document ids stay ``source/file#position``, which is stable and unique by construction).
    ``meta_fields``: keys/columns copied into meta under their own names (default none).
    ``on_decode_error``: ``reject`` (default; the record becomes an ``invalid_utf8`` reject naming
    the byte offset) or ``replace`` (bad bytes become U+FFFD, counted in ``meta["decode_errors"]``).
    """

    format: Literal["auto", "text", "jsonl", "parquet"] = "auto"
    unit: Literal["file", "line"] = "file"
    text_field: str = "text"
    id_field: str | None = None
    meta_fields: tuple[str, ...] = ()
    on_decode_error: Literal["reject", "replace"] = "reject"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise RecipeError("format", "one of " + ", ".join(FORMATS), self.format)
        if self.unit not in ("file", "line"):
            raise RecipeError("unit", "one of 'file', 'line'", self.unit)
        if self.unit == "line" and self.format in ("jsonl", "parquet"):
            raise RecipeError("unit", f"'file' for format '{self.format}' (unit only splits plain text)", self.unit)
        if not self.text_field:
            raise RecipeError("text_field", "a non-empty field name", self.text_field)
        if self.id_field is not None and not self.id_field:
            raise RecipeError("id_field", "a non-empty field name or null", self.id_field)
        for name in self.meta_fields:
            if name in RESERVED_META:
                raise RecipeError("meta_fields", "field names other than " + ", ".join(RESERVED_META), name)
            if name == self.text_field:
                raise RecipeError("meta_fields", f"fields other than the text field '{self.text_field}'", name)
        if len(set(self.meta_fields)) != len(self.meta_fields):
            raise RecipeError("meta_fields", "distinct field names", list(self.meta_fields))
        if self.on_decode_error not in ("reject", "replace"):
            raise RecipeError("on_decode_error", "one of 'reject', 'replace'", self.on_decode_error)


# --- decoding ----------------------------------------------------------------------------------

_decode_state = threading.local()


def _count_and_replace(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: replace an undecodable run with U+FFFD and count its bytes."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    _decode_state.count = getattr(_decode_state, "count", 0) + (error.end - error.start)
    return "\ufffd", error.end


codecs.register_error("dataprep-count-replace", _count_and_replace)


def decode_counting(data: bytes, encoding: str = "utf-8") -> tuple[str, int]:
    """Decode ``data``, replacing bad bytes with U+FFFD; returns (text, number of bad bytes).

    >>> decode_counting(b"caf\\xc3\\xa9 \\xff")
    ('café \\ufffd', 1)
    """
    try:
        return data.decode(encoding), 0
    except UnicodeDecodeError:
        pass
    _decode_state.count = 0
    text = data.decode(encoding, errors="dataprep-count-replace")
    return text, _decode_state.count


def describe_decode_error(e: UnicodeDecodeError, base_offset: int) -> str:
    """``'byte offset 1041: invalid start byte 0xff'`` with the offset counted from the file start."""
    bad = e.object[e.start : e.start + 4].hex(" ")
    return f"byte offset {base_offset + e.start}: {e.reason} (bytes {bad})"


# --- helpers -------------------------------------------------------------------------------------


def detect_format(path: str) -> str:
    """The format ``auto`` picks for ``path``.

    >>> detect_format("news/2024.jsonl.gz"), detect_format("x.parquet"), detect_format("a.txt.bz2")
    ('jsonl', 'parquet', 'text')
    """
    name = strip_compression_suffix(path).lower()
    dot = name.rfind(".")
    return EXTENSIONS.get(name[dot:], "text") if dot > name.rfind("/") else "text"


def plain_value(value: Any) -> Any:
    """A Parquet/JSON value as JSON-able data (meta is stored as JSON): dates as ISO strings,
    decimals and other scalars as strings, bytes as UTF-8 text with replacement."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


def _lines(stream: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """(1-based line number, byte offset of the line, line without its end) for every line.

    ``readline`` on a buffered or decompressing stream is linear in the line's length, so a
    50 MB line costs one 50 MB read, never a quadratic rescan.
    """
    offset = 0
    number = 0
    while True:
        line = stream.readline()
        if not line:
            return
        number += 1
        start = offset
        offset += len(line)
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
            start += len(codecs.BOM_UTF8)
        if line.endswith(b"\n"):
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        yield number, start, line


class _Decoder:
    """Applies the ``on_decode_error`` policy to one record's bytes."""

    def __init__(self, policy: str, source: str, rel: str) -> None:
        self.policy = policy
        self.source = source
        self.rel = rel

    def __call__(self, data: bytes, position: Any, base_offset: int) -> tuple[str, int] | Rejected:
        """(text, bad bytes) or an ``invalid_utf8`` reject."""
        if self.policy == "replace":
            return decode_counting(data)
        try:
            return data.decode("utf-8"), 0
        except UnicodeDecodeError as e:
            return Rejected(self.source, self.rel, position, "invalid_utf8", describe_decode_error(e, base_offset))


# --- reading ---------------------------------------------------------------------------------------


def read(fs: FileSystem, path: str, ctx: ReadContext) -> Iterator[ReadResult]:
    """Stream the file at ``path`` in the configured (or detected) format.

    Yields a `Document` per record and a `Rejected` per unreadable record; a cut compressed
    stream ends in one ``truncated_input`` reject after the records read before the cut.
    """
    opts: Options = ctx.options if ctx.options is not None else Options()
    rel = relative_to_root(path, ctx.root)
    fmt = opts.format if opts.format != "auto" else detect_format(path)
    if fmt == "parquet":
        yield from _read_parquet(fs, path, rel, ctx.source, opts)
        return
    decode = _Decoder(opts.on_decode_error, ctx.source, rel)
    position = 0
    try:
        with fs.open(path) as raw:
            stream = open_decompressed(raw, path)
            if fmt == "text" and opts.unit == "file":
                data = stream.read()
                if data.startswith(codecs.BOM_UTF8):
                    data = data[len(codecs.BOM_UTF8) :]
                decoded = decode(data, 0, 0)
                if isinstance(decoded, Rejected):
                    yield decoded
                    return
                yield Document(make_id(ctx.source, rel, 0), ctx.source, decoded[0], _meta(rel, 0, decoded[1], opts))
                return
            for position, offset, line in _lines(stream):
                if not line.strip():
                    continue  # a blank line is no record
                decoded = decode(line, position, offset)
                if isinstance(decoded, Rejected):
                    yield decoded
                    continue
                text, errors = decoded
                if fmt == "text":
                    yield Document(make_id(ctx.source, rel, position), ctx.source, text, _meta(rel, position, errors, opts))
                else:
                    yield _json_record(text, errors, rel, position, ctx.source, opts)
    except DECOMPRESSION_ERRORS as e:
        where = position + 1 if not (fmt == "text" and opts.unit == "file") else 0
        yield Rejected(ctx.source, rel, where, "truncated_input", f"{type(e).__name__}: {e}"[:DETAIL_CHARS])


def _meta(rel: str, position: int, errors: int, opts: Options) -> dict[str, Any]:
    meta: dict[str, Any] = {"file": rel, "position": position}
    if opts.on_decode_error == "replace":
        meta["decode_errors"] = errors
    return meta


def _json_record(line: str, errors: int, rel: str, position: int, source: str, opts: Options) -> ReadResult:
    """One JSONL line to a `Document`, or a ``malformed_json`` / ``missing_text_field`` reject."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as e:
        detail = f"{e.msg} at column {e.colno}" if isinstance(e, json.JSONDecodeError) else f"{type(e).__name__}: {e}"
        return Rejected(source, rel, position, "malformed_json", f"line {position}: {detail}"[:DETAIL_CHARS])
    if not isinstance(obj, dict):
        return Rejected(source, rel, position, "malformed_json", f"line {position}: expected a JSON object, found {type(obj).__name__}")
    return _record_to_document(obj, errors, rel, position, source, opts, f"line {position}")


def _record_to_document(
    obj: dict[str, Any], errors: int, rel: str, position: int, source: str, opts: Options, where: str
) -> ReadResult:
    text = obj.get(opts.text_field)
    if not isinstance(text, str):
        found = "no such field" if opts.text_field not in obj else f"a {type(text).__name__}"
        keys = ", ".join(sorted(map(str, obj))[:10])
        detail = f"{where}: field '{opts.text_field}' must be a string, found {found} (keys: {keys})"
        return Rejected(source, rel, position, "missing_text_field", detail[:DETAIL_CHARS])
    meta = _meta(rel, position, errors, opts)
    if opts.id_field is not None and obj.get(opts.id_field) is not None:
        meta["record_id"] = str(obj[opts.id_field])
    for name in opts.meta_fields:
        if name in obj:
            meta[name] = plain_value(obj[name])
    return Document(make_id(source, rel, position), source, text, meta)


def _read_parquet(fs: FileSystem, path: str, rel: str, source: str, opts: Options) -> Iterator[ReadResult]:
    """Rows of a Parquet file, `PARQUET_BATCH_ROWS` rows in memory at a time, only the needed columns."""
    import pyarrow
    import pyarrow.parquet as pq

    if is_compressed(path):
        yield Rejected(source, rel, 0, "malformed_parquet", "a compressed Parquet file cannot be read: Parquet compresses its pages itself")
        return
    row = 0
    try:
        with fs.open(path) as fh:
            pf = pq.ParquetFile(fh)
            names = set(pf.schema_arrow.names)
            if opts.text_field not in names:
                detail = f"no column '{opts.text_field}' (columns: {', '.join(sorted(names)[:10])})"
                yield Rejected(source, rel, 0, "missing_text_field", detail[:DETAIL_CHARS])
                return
            wanted = [opts.text_field, *([opts.id_field] if opts.id_field else []), *opts.meta_fields]
            columns = [c for c in dict.fromkeys(wanted) if c in names]
            # Batches rather than whole row groups: writers default to row groups of a million
            # rows (pyarrow) or 128 MB, which as Python strings would be several times larger.
            for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
                values = {c: batch.column(c).to_pylist() for c in columns}
                for i in range(batch.num_rows):
                    obj = {c: values[c][i] for c in columns}
                    errors = 0
                    if isinstance(obj[opts.text_field], bytes):  # a binary column holding text
                        decoded = _Decoder(opts.on_decode_error, source, rel)(obj[opts.text_field], row, 0)
                        if isinstance(decoded, Rejected):
                            yield decoded._replace(detail=f"row {row}: {decoded.detail}")
                            row += 1
                            continue
                        obj[opts.text_field], errors = decoded
                    yield _record_to_document(obj, errors, rel, row, source, opts, f"row {row}")
                    row += 1
    except (pyarrow.ArrowException, *DECOMPRESSION_ERRORS) as e:
        yield Rejected(source, rel, row, "malformed_parquet", f"{type(e).__name__}: {e}"[:DETAIL_CHARS])
