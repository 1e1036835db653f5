"""Books: plain-text files, one document per book, Project Gutenberg boilerplate removed.

A book file is one record: it is read whole (up to ``max_bytes``), decoded (UTF-8, else the
encoding charset-normalizer detects: old e-texts are often Latin-1 or cp1252), and, when it
carries Project Gutenberg's license header and footer, cut down to the text between them. The
title, author, language and e-book number from the header go into ``meta``. Nothing else is
touched: whitespace and newlines stay exactly as in the file (normalising them is the build's
job).

The marker lists follow the ones collected by the ``gutenberg`` package
(c-w/gutenberg, ``gutenberg/_domain_model/text.py`` and ``cleanup/strip_headers.py``, a port of
Johannes Krugel's ``strip_headers.cpp``) and rOpenSci's ``gutenbergr::gutenberg_strip``, reduced
to the lines that only Project Gutenberg's own boilerplate contains. Their weaker markers
(``"Produced by"``, ``"The Project Gutenberg"``) end the header wherever they occur in the first
600 lines, which also cuts real text; here they are only used for the credit paragraph right
after the start marker (``strip_credits``).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator

from charset_normalizer import from_bytes

from dataprep.errors import RecipeError
from dataprep.fs import DECOMPRESSION_ERRORS, FileSystem, open_decompressed, relative_to_root
from dataprep.records import Document, Dropped, ReadResult, Rejected, make_id
from dataprep.sources import ReadContext


@dataclass(frozen=True)
class Options:
    """Recipe keys of a ``books`` source.

    ``strip_gutenberg`` (true): remove Project Gutenberg's license header and footer when the
    markers are present; text without markers is returned unchanged either way.
    ``strip_credits`` (true): also remove the "Produced by ..." / "E-text prepared by ..."
    paragraph that follows the start marker (it names transcribers, not the book).
    ``header_window`` (100000): the start marker is looked for in this many leading characters;
    Gutenberg's license blocks are about 20 KB at most, so 100 K leaves room without letting a
    marker quoted deep inside a book cut it.
    ``footer_window`` (100000): the end marker is looked for in this many trailing characters
    (the full license that follows it is about 20 KB).
    ``max_bytes`` (256 MiB): a larger file is dropped as ``too_large`` without being loaded
    (the longest Project Gutenberg e-texts are tens of MB; anything far bigger is not one book).
    ``prefer_encodings`` (cp1252, latin_1): for non-UTF-8 files, these win over
    charset-normalizer's first guess when they fit about as well (see `decode`); Python codec
    names, checked when the recipe loads.
    """

    strip_gutenberg: bool = True
    strip_credits: bool = True
    header_window: int = 100_000
    footer_window: int = 100_000
    max_bytes: int = 256 * 1024 * 1024
    prefer_encodings: tuple[str, ...] = ("cp1252", "latin_1")

    def __post_init__(self) -> None:
        if self.header_window < 1:
            raise RecipeError("header_window", "an integer >= 1 (characters)", self.header_window)
        if self.footer_window < 1:
            raise RecipeError("footer_window", "an integer >= 1 (characters)", self.footer_window)
        if self.max_bytes < 1:
            raise RecipeError("max_bytes", "an integer >= 1", self.max_bytes)
        for name in self.prefer_encodings:
            try:
                codecs.lookup(name)
            except LookupError:
                raise RecipeError("prefer_encodings", "Python codec names (cp1252, latin_1, ...)", name) from None


# The line that ends the header: PG's start marker in all its spellings since 1992.
#   "*** START OF THE PROJECT GUTENBERG EBOOK PRIDE AND PREJUDICE ***"  (2010s-today)
#   "*** START OF THIS PROJECT GUTENBERG EBOOK EMMA ***"                (2000s)
#   "***START OF THE PROJECT GUTENBERG EBOOK ..."                       (no space)
#   "*** START OF THE COPYRIGHTED PROJECT GUTENBERG EBOOK ..."          (copyrighted texts)
#   "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*"   (1990s small print)
#   "*END THE SMALL PRINT! ..."                                         (variant)
START_MARKER = re.compile(
    r"^[ \t]*(?:"
    r"\*{3}[ \t]*START[ \t]+OF[ \t]+(?:THE|THIS)[ \t]+(?:COPYRIGHTED[ \t]+)?PROJECT[ \t]+GUTENBERG"
    r"|\*END\*?[ \t]*THE[ \t]+SMALL[ \t]+PRINT"
    r")[^\n]*\n?",
    re.IGNORECASE | re.MULTILINE,
)

# The line that begins the footer:
#   "*** END OF THE PROJECT GUTENBERG EBOOK ... ***", "*** END OF THIS PROJECT GUTENBERG ...",
#   "***END OF THE PROJECT GUTENBERG ...", "*** END OF THE COPYRIGHTED PROJECT GUTENBERG ...",
#   "End of the Project Gutenberg EBook of ...", "End of Project Gutenberg's Emma, by ...",
#   "End of this Project Gutenberg Etext", "END OF PROJECT GUTENBERG ...".
END_MARKER = re.compile(
    r"^[ \t]*(?:"
    r"\*{3}[ \t]*END[ \t]+OF[ \t]+(?:THE|THIS)[ \t]+(?:COPYRIGHTED[ \t]+)?PROJECT[ \t]+GUTENBERG"
    r"|END[ \t]+OF[ \t]+(?:THE[ \t]+|THIS[ \t]+)?PROJECT[ \t]+GUTENBERG"
    r")",
    re.IGNORECASE | re.MULTILINE,
)

# A transcriber-credit paragraph right after the start marker (gutenbergr's list).
CREDIT_PARAGRAPH = re.compile(
    r"^[ \t]*(?:produced[ \t]+by|(?:this[ \t]+)?e-?text[ \t]+(?:was[ \t]+)?(?:prepared|produced)[ \t]+by"
    r"|this[ \t]+ebook[ \t]+was[ \t]+(?:prepared|produced)[ \t]+by|transcribed[ \t]+(?:from|by))",
    re.IGNORECASE,
)

_FIELD = re.compile(r"^(Title|Author|Language|Release Date)[ \t]*:[ \t]*(.*)$", re.IGNORECASE)
_EBOOK_NUMBER = re.compile(r"\[(?:E-?Book|E-?text)[ \t]*#[ \t]*(\d+)\]", re.IGNORECASE)
# "The Project Gutenberg EBook of Emma, by Jane Austen" (first line of 2000s headers).
_FIRST_LINE = re.compile(
    r"Project Gutenberg(?:'s)?[ \t]+(?:E-?Book|E-?text|Etext)?[ \t]*(?:of[ \t]+)?(.+?)(?:,[ \t]+by[ \t]+(.+?))?[ \t]*$",
    re.IGNORECASE,
)
# Chaos (charset-normalizer's mess ratio) a preferred encoding may exceed the best guess by.
# Measured on short and 20x-repeated samples in 9 languages and 8-bit encodings (fr, es
# Latin-1; de, en cp1252; ru cp1251; pl cp1250; cs ISO-8859-2; el cp1253; tr cp1254):
# charset-normalizer alone decodes 12/18 right (French came back as cp1257, English with
# curly quotes as cp1250); preferring cp1252 within 0.05 decodes 14/18 (Turkish cp1254 is then
# read as cp1252; Czech ISO-8859-2 stays cp1250 either way); 0.1 gains nothing more.
PREFER_MARGIN = 0.05
_BLANK_LINE = re.compile(r"\n[ \t]*\r?\n")


def decode(data: bytes, prefer: tuple[str, ...] = ("cp1252", "latin_1")) -> tuple[str, str] | None:
    """Decode a book's bytes: UTF-8 (a BOM dropped) first, else charset-normalizer's guess.

    charset-normalizer often ranks cp775 or cp1250 first for English or French text with a few
    accented letters (a Latin-1 Austen excerpt came back as cp775, French as cp1257). Among its
    candidates whose chaos is within `PREFER_MARGIN` of the best, an encoding in ``prefer`` wins:
    Project Gutenberg's 8-bit texts are ISO-8859-1 or Windows-1252. Returns
    ``(text, encoding)``, or None when nothing fits.

    >>> decode("Le café est très bon. Où est la gare? Ça va.".encode("latin-1"))[1]
    'cp1252'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    results = from_bytes(data)
    best = results.best()
    if best is None:
        return None
    for match in results:
        if match.chaos > best.chaos + PREFER_MARGIN:
            continue
        for encoding in prefer:
            if encoding in match.could_be_from_charset:
                try:
                    return data.decode(encoding), encoding
                except UnicodeDecodeError:
                    continue
    return str(best), best.encoding


def header_fields(header: str) -> dict[str, Any]:
    """Title, author, language and e-book number from a Project Gutenberg header.

    Field lines (``Title: Emma``) may continue on indented lines; the 2000s first line
    ``The Project Gutenberg EBook of Emma, by Jane Austen`` is the fallback.

    >>> header_fields("Title: Emma\\n\\nAuthor: Jane Austen\\n\\n[EBook #158]\\n")
    {'title': 'Emma', 'author': 'Jane Austen', 'gutenberg_id': 158}
    """
    out: dict[str, Any] = {}
    key = None
    for line in header.splitlines():
        m = _FIELD.match(line.strip())
        if m:
            key = m.group(1).lower().replace(" ", "_")
            out[key] = m.group(2).strip()
        elif key and line[:1] in (" ", "\t") and line.strip():
            out[key] = f"{out[key]} {line.strip()}"
        else:
            key = None
    if "title" not in out:
        for line in header.splitlines():
            if line.strip():
                m = _FIRST_LINE.search(line.strip())
                if m:
                    out["title"] = m.group(1).strip()
                    if m.group(2) and "author" not in out:
                        out["author"] = m.group(2).strip()
                break
    number = _EBOOK_NUMBER.search(header)
    if number:
        out["gutenberg_id"] = int(number.group(1))
    for key in ("title", "author", "language", "release_date"):
        if key in out:  # "Release Date: March 3, 2004 [eBook #11432]"
            out[key] = _EBOOK_NUMBER.sub("", out[key]).strip()
    return {k: v for k, v in out.items() if v not in ("", None)}


def _skip_credits(body: str) -> str:
    """Drop leading blank lines and credit paragraphs ("Produced by ...") from ``body``."""
    while True:
        stripped = body.lstrip("\r\n \t")
        if not CREDIT_PARAGRAPH.match(stripped):
            return body
        m = _BLANK_LINE.search(stripped)
        body = stripped[m.end() :] if m else ""


def strip_gutenberg(
    text: str, header_window: int = 100_000, strip_credits: bool = True, footer_window: int = 100_000
) -> tuple[str, dict[str, Any]]:
    """Remove Project Gutenberg's license header and footer from a book.

    The header ends at the last start marker within the first ``header_window`` characters;
    the footer begins at the first end marker after it within the last ``footer_window``.
    Without markers the text comes back unchanged; with them, the body between is returned
    without its leading and trailing blank lines, and the second value holds the header's
    fields (see `header_fields`) and which parts were cut.

    >>> strip_gutenberg("x\\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\\nBody.\\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\\nlicense")
    ('Body.', {'gutenberg_header': True, 'gutenberg_footer': True})
    """
    start = None
    for m in START_MARKER.finditer(text, 0, header_window):
        start = m
    begin = start.end() if start else 0
    # Only the tail is searched for the footer: the line-anchored regex runs at about 70 MB/s,
    # so scanning whole books made it most of the reader's time; windows bound it per book.
    end_m = END_MARKER.search(text, max(begin, len(text) - footer_window))
    if start is None and end_m is None:
        return text, {}
    info: dict[str, Any] = {}
    if start is not None:
        info.update(header_fields(text[: start.start()]))
        info["gutenberg_header"] = True
    body = text[begin : end_m.start() if end_m else len(text)]
    if end_m is not None:
        info["gutenberg_footer"] = True
    if strip_credits and start is not None:
        body = _skip_credits(body)
    return body.strip("\r\n"), info


def _read_limited(stream: BinaryIO, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of ``stream``; None when it holds more (so it is never loaded)."""
    chunks = []
    size = 0
    while True:
        chunk = stream.read(min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


def read(fs: FileSystem, path: str, ctx: ReadContext) -> Iterator[ReadResult]:
    """Read one book file into one `Document` (position 0).

    Yields `Dropped` ``too_large`` past ``max_bytes``, `Rejected` ``truncated_input`` when a
    compressed file is cut (a partial book is not kept: there is only one record and it is
    incomplete) and `Rejected` ``undecodable`` when no encoding fits the bytes.
    Meta: ``file``, ``position``, ``encoding``, and when a Gutenberg header was found ``title``,
    ``author``, ``language``, ``release_date``, ``gutenberg_id``, ``gutenberg_header``,
    ``gutenberg_footer``.
    """
    opts: Options = ctx.options if ctx.options is not None else Options()
    rel = relative_to_root(path, ctx.root)
    position = 0
    raw = fs.open(path)  # a missing file is the build's error, not this record's
    try:
        with raw:
            data = _read_limited(open_decompressed(raw, path), opts.max_bytes)
    except DECOMPRESSION_ERRORS as e:
        yield Rejected(ctx.source, rel, position, "truncated_input", f"{type(e).__name__}: {e}")
        return
    doc_id = make_id(ctx.source, rel, position)
    if data is None:
        yield Dropped(doc_id, ctx.source, "too_large", rel, position)
        return
    decoded = decode(data, opts.prefer_encodings)
    if decoded is None:
        yield Rejected(ctx.source, rel, position, "undecodable", "not UTF-8 and no encoding detected")
        return
    text, encoding = decoded
    meta: dict[str, Any] = {"file": rel, "position": position, "encoding": encoding}
    if opts.strip_gutenberg:
        text, info = strip_gutenberg(text, opts.header_window, opts.strip_credits, opts.footer_window)
        meta.update(info)
    yield Document(doc_id, ctx.source, text, meta)
