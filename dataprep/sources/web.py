"""The ``web`` reader: WARC files (plain, ``.gz``, ``.bz2``, ``.zst``) to page-text documents.

One WARC record at a time (memory bounded by the largest record, capped by
``max_payload_bytes``):

- ``response`` records with HTTP 200 and an HTML content type give a `Document` with the page's
  main text from the configured extractor (trafilatura by default, chosen by
  ``benchmarks/extractors.py``; see docs/web-and-text.md);
- WET ``conversion`` records (Common Crawl's extracted text) are read as they are;
- non-HTML responses are `Dropped` as ``not_html``, non-200 ones as ``http_status``, pages whose
  extraction is empty as ``empty_extraction``, payloads over the cap as ``too_large``;
- ``warcinfo``, ``request``, ``metadata``, ``revisit`` and ``resource`` records are not candidate
  documents and yield nothing;
- a truncated or corrupt file ends in one `Rejected` (``truncated_input`` or ``malformed_warc``)
  after everything readable before the cut was yielded; a page whose HTTP Content-Encoding does
  not decode is rejected as ``content_encoding``, one the extractor fails on as
  ``extraction_failed``, and reading goes on.

Charset: the byte-order mark, then the HTTP ``Content-Type`` header, then the HTML ``<meta
charset>``/``http-equiv`` declaration, then detection (charset-normalizer), then UTF-8. Bytes
that do not decode are replaced by U+FFFD and counted in ``meta["decode_errors"]``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any, Iterator, Literal

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

from dataprep.errors import RecipeError
from dataprep.fs import DECOMPRESSION_ERRORS, FileSystem, open_decompressed, relative_to_root
from dataprep.records import Document, Dropped, Pending, ReadResult, Rejected, make_id
from dataprep.sources import ReadContext
from dataprep.sources.text import decode_counting

EXTRACTORS = ("trafilatura", "resiliparse")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# WHATWG Encoding Standard: these labels mean windows-1252 in a browser, a superset that decodes
# the 0x80-0x9F range pages labelled "latin-1" actually use.
WHATWG_ALIASES = {"latin_1": "cp1252", "iso8859_1": "cp1252", "ascii": "cp1252"}
# The HTML standard's prescan looks at the first 1024 bytes; real pages put long <link>/<script>
# runs before their <meta>, so look a little further.
META_PRESCAN_BYTES = 4096
META_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]+)""", re.IGNORECASE)
HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]+)""", re.IGNORECASE)
HTML_SNIFF = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE | re.DOTALL)
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


@dataclass(frozen=True)
class Options:
    """Recipe keys of a ``web`` source (flat in the source's mapping).

    ``extractor``: ``trafilatura`` (default) or ``resiliparse``. Measured on the shared WARCs by
    ``benchmarks/extractors.py``: trafilatura keeps far more of the main text (recall 0.96 vs
    0.89 on the Python docs, 0.87 vs 0.60 on the Debian Reference, whose tables and headings
    resiliparse drops) and removes navigation as well (< 1 % left), at about 1/14 of
    resiliparse's speed (1.9-2.4 vs 27-31 MB of HTML per CPU-second). Text quality comes first;
    resiliparse is the choice when throughput does.
    ``max_payload_bytes``: a response payload longer than this is dropped as ``too_large``
    without being held in memory. 10 MB: Common Crawl truncates payloads at 1 MiB, and the largest
    page in the shared WARCs is 0.3 MB, so 10 MB drops no real page while bounding a worker's
    memory per record.
    """

    extractor: Literal["trafilatura", "resiliparse"] = "trafilatura"
    max_payload_bytes: int = 10_000_000

    def __post_init__(self) -> None:
        if self.extractor not in EXTRACTORS:
            raise RecipeError("extractor", "one of " + ", ".join(EXTRACTORS), self.extractor)
        if self.max_payload_bytes < 1:
            raise RecipeError("max_payload_bytes", "an integer >= 1", self.max_payload_bytes)


# --- decoding --------------------------------------------------------------------------------

def normalise_charset(label: str | bytes | None) -> str | None:
    """The Python codec for a charset label, or None when the label names no known codec.

    >>> normalise_charset("ISO-8859-1"), normalise_charset(b"utf8"), normalise_charset("x-bogus")
    ('cp1252', 'utf-8', None)
    """
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", errors="ignore")
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    name = name.replace("-", "_")
    name = WHATWG_ALIASES.get(name, name)
    return "utf-8" if name == "utf_8" else name


def http_charset(content_type: str | None) -> str | None:
    """Charset named by an HTTP ``Content-Type`` value, normalised (None when absent/unknown).

    >>> http_charset("text/html; charset=windows-1251")
    'cp1251'
    """
    if not content_type:
        return None
    m = HEADER_CHARSET.search(content_type)
    return normalise_charset(m.group(1)) if m else None


def meta_charset(head: bytes) -> str | None:
    """Charset declared by ``<meta charset>`` or ``<meta http-equiv content="...charset=">``.

    >>> meta_charset(b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r">')
    'koi8_r'
    """
    m = META_CHARSET.search(head[:META_PRESCAN_BYTES])
    charset = normalise_charset(m.group(1)) if m else None
    # A <meta> readable as ASCII cannot be in UTF-16: the HTML standard reads such a
    # declaration as UTF-8.
    return "utf-8" if charset and charset.startswith("utf_16") else charset


def detect_charset(data: bytes) -> str | None:
    """Best guess of charset-normalizer, normalised; None when it finds nothing plausible."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return normalise_charset(best.encoding) if best is not None else None


def decode_html(payload: bytes, content_type: str | None) -> tuple[str, str, str, int]:
    """Decode an HTML payload: returns (text, charset, where the charset came from, bad bytes).

    Order: byte-order mark (``bom``), HTTP header (``http``), HTML meta tag (``meta``), detection
    (``detected``), else UTF-8 (``default``).
    """
    for bom, name in BOMS:
        if payload.startswith(bom):
            text, errors = decode_counting(payload[len(bom) :], name)
            return text, name, "bom", errors
    for where, charset in (("http", http_charset(content_type)), ("meta", meta_charset(payload))):
        if charset:
            text, errors = decode_counting(payload, charset)
            return text, charset, where, errors
    detected = detect_charset(payload)
    if detected:
        text, errors = decode_counting(payload, detected)
        return text, detected, "detected", errors
    text, errors = decode_counting(payload, "utf-8")
    return text, "utf-8", "default", errors


# --- classification and extraction ----------------------------------------------------------


def mime_type(content_type: str | None) -> str:
    """``'text/html; charset=utf-8'`` -> ``'text/html'`` (lower-case; '' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_html(content_type: str | None, head: bytes) -> bool:
    """True for an HTML content type; without one, True when the payload starts like HTML."""
    mime = mime_type(content_type)
    if mime:
        return mime in HTML_TYPES
    return HTML_SNIFF.match(head[:1024]) is not None


def extract_text(html: str, extractor: str) -> str:
    """The page's main text by ``extractor`` ('' when it finds none).

    trafilatura runs in its ``fast`` mode (no readability/jusText fallback): measured faster and
    with higher recall on the shared WARCs (benchmarks/extractors.py); comments are not main text.
    """
    if extractor == "resiliparse":
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(html, main_content=True)
    import trafilatura

    return trafilatura.extract(html, fast=True, include_comments=False, include_tables=True) or ""


# --- reading -----------------------------------------------------------------------------------


class InputCut(Exception):
    """A decompression error, re-raised under a type warcio does not catch: warcio takes any
    ``EOFError`` while parsing headers for the clean end of the archive, which would turn a cut
    ``.warc.gz`` into a silently shorter one."""


class _GuardedStream:
    """Read-only proxy that turns decompression errors into `InputCut`.

    Reads go through ``read1`` where the stream has it: a buffered ``read(n)`` that meets the
    cut raises and drops the bytes it had already decompressed in that call, so the records
    before the cut would be lost; ``read1`` returns them first and raises on the next call.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._read = getattr(stream, "read1", stream.read)

    def read(self, size: int = -1) -> bytes:
        try:
            return self._read(size)
        except DECOMPRESSION_ERRORS as e:
            raise InputCut(f"{type(e).__name__}: {e}") from e

    def readline(self, size: int = -1) -> bytes:
        try:
            return self._stream.readline(size)
        except DECOMPRESSION_ERRORS as e:
            raise InputCut(f"{type(e).__name__}: {e}") from e

    def close(self) -> None:
        self._stream.close()


WARC_ERRORS: tuple[type[BaseException], ...] = (
    InputCut,
    *DECOMPRESSION_ERRORS,
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
)


def _is_cut(record: Any) -> bool:
    """True when the record's declared block is longer than what the file holds."""
    remaining = getattr(record.raw_stream, "limit", None)
    return remaining is None or (remaining > 0 and not record.raw_stream.read(1))


def _read_payload(record: Any, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the HTTP body, with transfer and content encodings undone
    (more than ``limit`` bytes back means the payload is too large)."""
    http = record.http_headers
    encoding = (http.get_header("Content-Encoding") or "").strip().lower() if http else ""
    if encoding != "br":
        return record.content_stream().read(limit + 1)
    # warcio's own brotli path sets an attribute that brotli >= 1.1's Decompressor refuses, so a
    # valid brotli page would crash it: undo the transfer encoding with warcio, brotli here.
    import brotli

    chunked = (http.get_header("Transfer-Encoding") or "").strip().lower() == "chunked"
    body = ChunkedDataReader(record.raw_stream) if chunked else record.raw_stream
    compressed = body.read(limit + 1)
    if len(compressed) > limit:
        return compressed
    decompressor = brotli.Decompressor()
    try:
        return decompressor.process(compressed, output_buffer_limit=limit + 1)
    except TypeError:  # brotli < 1.1 has no output limit
        return decompressor.process(compressed)


def _record_meta(record: Any, rel: str, position: int) -> dict[str, Any]:
    headers = record.rec_headers
    return {
        "file": rel,
        "position": position,
        "url": headers.get_header("WARC-Target-URI"),
        "date": headers.get_header("WARC-Date"),
        "warc_record_id": headers.get_header("WARC-Record-ID"),
    }


def read(fs: FileSystem, path: str, ctx: ReadContext, defer: bool = False) -> Iterator[ReadResult | Pending]:
    """Stream the WARC at ``path``: a `Document`, `Dropped` or `Rejected` per candidate record.

    Positions are 0-based record indexes within the file (every record counts, so a position
    names the same record whatever is kept); ids are ``source/relative-path#index``. With
    ``defer``, HTML pages come out as `Pending` (payload and meta) for `finish` to extract.
    """
    opts: Options = ctx.options if ctx.options is not None else Options()
    rel = relative_to_root(path, ctx.root)
    position = 0  # of the record being read, or the next one: where a cut is reported
    try:
        with fs.open(path) as raw:
            # warcio reads per-record gzip itself, but on a cut .warc.gz it silently yields the
            # truncated last record; Python's gzip raises EOFError instead, so decompress here
            # (guarded, so that warcio cannot mistake the EOFError for the archive's end).
            stream = _GuardedStream(open_decompressed(raw, path))
            for index, record in enumerate(ArchiveIterator(stream)):
                position = index
                if record.format != "warc":
                    # warcio falls back to the legacy ARC format on anything that is not WARC,
                    # so a text file would pass as one "record": refuse instead of guessing.
                    yield Rejected(ctx.source, rel, position, "malformed_warc", f"not a WARC record (warcio read it as {record.format})")
                    return
                result = _read_record(record, rel, position, ctx.source, opts, defer)
                position = index + 1
                if result is not None:
                    yield result
                    if isinstance(result, Rejected):
                        return
    except WARC_ERRORS as e:
        reason = "malformed_warc" if isinstance(e, (ArchiveLoadFailed, StatusAndHeadersParserException)) else "truncated_input"
        detail = str(e) if isinstance(e, InputCut) else f"{type(e).__name__}: {e}"
        yield Rejected(ctx.source, rel, position, reason, detail[:300])


def _read_record(record: Any, rel: str, position: int, source: str, opts: Options, defer: bool = False) -> ReadResult | Pending | None:
    """One WARC record to its result; None for record types that are not candidate documents."""
    if record.rec_type not in ("response", "conversion"):
        return None
    doc_id = make_id(source, rel, position)
    if record.rec_type == "conversion":
        payload = record.content_stream().read(opts.max_payload_bytes + 1)
        if len(payload) > opts.max_payload_bytes:
            return Dropped(doc_id, source, "too_large", rel, position)
        if _is_cut(record):
            return Rejected(source, rel, position, "truncated_input", "record ends before its Content-Length")
        text, errors = decode_counting(payload, "utf-8")  # WET text is UTF-8 by definition
        meta = _record_meta(record, rel, position)
        meta.update(content_type=record.rec_headers.get_header("Content-Type"), charset="utf-8", decode_errors=errors)
        return Document(doc_id, source, text, meta)

    http = record.http_headers
    if http is None:  # a response without HTTP headers (dns:, ftp:) is no web page
        return Dropped(doc_id, source, "not_html", rel, position)
    if http.get_statuscode() != "200":
        return Dropped(doc_id, source, "http_status", rel, position)
    content_type = http.get_header("Content-Type")
    if mime_type(content_type) and not is_html(content_type, b""):
        return Dropped(doc_id, source, "not_html", rel, position)
    try:
        payload = _read_payload(record, opts.max_payload_bytes)
    except WARC_ERRORS:
        raise  # the file itself is cut: reported by `read`
    except Exception as e:  # noqa: BLE001 - a page whose Content-Encoding does not decode is rejected, the run goes on
        encoding = http.get_header("Content-Encoding")
        return Rejected(source, rel, position, "content_encoding", f"Content-Encoding {encoding}: {type(e).__name__}: {e}"[:300])
    if len(payload) > opts.max_payload_bytes:
        return Dropped(doc_id, source, "too_large", rel, position)
    if _is_cut(record):
        return Rejected(source, rel, position, "truncated_input", "record ends before its Content-Length")
    if not is_html(content_type, payload):
        return Dropped(doc_id, source, "not_html", rel, position)
    meta = _record_meta(record, rel, position)
    meta["content_type"] = content_type
    pending = Pending(doc_id, source, (payload, meta))
    return pending if defer else finish(pending, opts)


def finish(pending: Pending, options: Options) -> ReadResult:
    """Decode and extract one HTML page read with ``defer``: its `Document`, or `Dropped`
    (``empty_extraction``) or `Rejected` (``extraction_failed``)."""
    payload, meta = pending.data
    rel, position, source = meta["file"], meta["position"], pending.source
    html, charset, charset_source, errors = decode_html(payload, meta["content_type"])
    try:
        text = extract_text(html, options.extractor)
    except Exception as e:  # noqa: BLE001 - one unparsable page must not end the run; it is rejected
        return Rejected(source, rel, position, "extraction_failed", f"{options.extractor}: {type(e).__name__}: {e}"[:300])
    if not text.strip():
        return Dropped(pending.id, source, "empty_extraction", rel, position)
    meta = dict(
        meta,
        charset=charset,
        charset_source=charset_source,
        decode_errors=errors,
        extractor=options.extractor,
    )
    return Document(pending.id, source, text, meta)
