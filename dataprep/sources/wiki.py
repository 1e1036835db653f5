"""Wikipedia: MediaWiki XML dumps (``pages-articles``) and JSONL of already-plain articles.

XML dumps are streamed with ``xml.etree.ElementTree.iterparse`` and every element is cleared as
soon as it is read, so memory holds one page at a time whatever the dump's size. Any export
schema version works (the namespace URI is ignored; pages without ``<ns>``, from exports older
than 0.6, get their namespace from the title prefix). Pages outside ``namespaces`` are dropped
as ``non_article_namespace``, redirects as ``redirect``, non-wikitext content models (CSS, JS,
Lua, JSON) as ``non_wikitext``. Wikitext becomes plain text with mwparserfromhell (see
`wikitext_to_text`).

JSONL input (one ``{"title": ..., "text": ...}`` object per line, field names configurable) is
read as it is.
"""

from __future__ import annotations

import html
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator, Literal

import mwparserfromhell
from mwparserfromhell.nodes import (
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Template,
    Text,
    Wikilink,
)
from mwparserfromhell.wikicode import Wikicode

from dataprep.errors import RecipeError
from dataprep.fs import DECOMPRESSION_ERRORS, FileSystem, open_decompressed, relative_to_root, strip_compression_suffix
from dataprep.records import Document, Dropped, ReadResult, Rejected, make_id
from dataprep.sources import ReadContext
from dataprep.sources.jsonl import json_lines

# Sections that hold link lists and citations rather than prose. Their content is empty or
# noise once references and templates are gone (Wikipedia's Manual of Style, "Layout":
# the standard appendices).
APPENDIX_SECTIONS = (
    "References",
    "Notes",
    "Footnotes",
    "Citations",
    "Sources",
    "Bibliography",
    "Further reading",
    "External links",
    "See also",
    "Notes and references",
)


@dataclass(frozen=True)
class Options:
    """Recipe keys of a ``wiki`` source.

    ``format`` (auto): ``xml`` (a MediaWiki dump), ``jsonl`` (plain articles), or ``auto``: by
    the file name (``.xml`` / ``.jsonl``, ``.json``, ``.ndjson`` under any compression suffix),
    else by the first byte (``<`` or ``{``).
    ``namespaces`` ([0]): namespace numbers to keep; 0 is the main (article) namespace.
    ``tables`` (rows): ``rows`` renders each table row on its own line, non-empty cells joined
    by `` | `` (a caption first); ``drop`` removes tables. See docs/books-wiki-dialogue.md for
    why rows is the default.
    ``drop_sections`` (the standard appendices: References, Notes, External links, See also...):
    sections with these headings (case-insensitive) are removed with their content.
    ``link_prefixes_to_drop`` (File, Image, Media, Category): links with these prefixes are
    removed, caption included; the dump's own (localised) names of the File, Media and Category
    namespaces are added from its ``<siteinfo>``.
    ``title_field``, ``text_field`` (title, text): the fields of a JSONL article;
    ``meta_fields`` ([]): further JSONL fields copied into meta.
    """

    format: Literal["auto", "xml", "jsonl"] = "auto"
    namespaces: tuple[int, ...] = (0,)
    tables: Literal["drop", "rows"] = "rows"
    drop_sections: tuple[str, ...] = APPENDIX_SECTIONS
    link_prefixes_to_drop: tuple[str, ...] = ("File", "Image", "Media", "Category")
    title_field: str = "title"
    text_field: str = "text"
    meta_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.namespaces:
            raise RecipeError("namespaces", "at least one namespace number (0 = articles)", list(self.namespaces))
        if not self.text_field:
            raise RecipeError("text_field", "a field name", self.text_field)


# ---------------------------------------------------------------------------------------------
# Wikitext -> plain text
# ---------------------------------------------------------------------------------------------

# Tags whose content is not running text.
_DROP_TAGS = frozenset(
    {"ref", "references", "gallery", "timeline", "imagemap", "score", "graph", "mapframe", "maplink",
     "templatedata", "templatestyles", "noinclude", "style", "script", "math", "chem", "hiero", "ce"}
)
_BLOCK_TAGS = frozenset({"p", "div", "blockquote", "center", "poem", "pre", "ul", "ol", "dl", "h1", "h2", "h3",
                         "h4", "h5", "h6", "syntaxhighlight", "source"})
# Templates that wrap running text (keep their text) rather than add boxes or citations.
# {{lang|de|Wort}} -> Wort; {{nowrap|5 km}} -> 5 km; {{convert|5|km}} -> 5 km.
_TEXT_TEMPLATES_LAST = frozenset({"lang", "transl", "transliteration"})
_TEXT_TEMPLATES_FIRST = frozenset(
    {"nowrap", "nobr", "small", "smaller", "big", "larger", "em", "strong", "sc", "smallcaps", "small caps",
     "not a typo", "sic", "nobold", "noitalic", "nbsp", "mvar", "math", "var", "abbr", "keypress",
     "linktext", "visible anchor", "vanchor", "text", "serif", "sans-serif", "script", "ill", "interlanguage link",
     "nq", "nastaliq", "ipa", "flag", "flagcountry", "nihongo", "nihongo2", "lang-rtl"}
)
# Block quotations: their text is article content, on a paragraph of its own.
_QUOTE_TEMPLATES = frozenset({"quote", "quotation", "cquote", "blockquote", "quote box", "poemquote"})
# Chemical formulas: the parameters joined ({{chem|H|2|O}} -> H2O).
_JOIN_TEMPLATES = frozenset({"chem", "chem2", "ce"})
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_INTERLANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z]{2,8})*$|^simple$")
_MAGIC_WORD = re.compile(r"__[A-Z]{3,}__")
_EMPTY_PARENS = re.compile(r"[ \t]*\([\s,;:]*\)")
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\S)[ \t]+(?=[,.;:](?:\s|$))")
_MULTI_SPACE = re.compile(r"[ \t]{2,}")
_MULTI_BLANK = re.compile(r"\n{3,}")
# Internal markers (control characters no XML dump can contain; removed from the input first):
# list indentation, turned into spaces after lines are stripped; and a heading line's start,
# followed by its level digit, until empty sections are removed.
_INDENT = "\x00"
_HEADING = "\x01"
_HEADING_MARK = re.compile("\x01[0-9]")
_CELL_ATTRIBUTES = re.compile(r"^(?:[\w-]+[ \t]*=[ \t]*(?:\"[^\"]*\"|'[^']*'|[^\s|]+)[ \t]*)+\|(?!\|)")
_BROKEN_CELL = re.compile(r"\{\||\|\}|\|-|\|\|")
_LEFTOVER_HTML = re.compile(
    r"</?(?:div|span|center|small|big|sup|sub|font|br|p|b|i|u|s|em|strong|blockquote|table|tr|td|th|abbr"
    r"|cite|code|ref|references|onlyinclude|includeonly|noinclude|poem|nowiki)\b[^>]*>",
    re.I,
)


def _template_text(tpl: Template, ctx: "_Render") -> str | None:
    """The running text a text-wrapping template stands for, or None to drop the template."""
    name = str(tpl.name).strip().lower().replace("_", " ")
    positional = [p for p in tpl.params if not p.showkey]
    if name.startswith("lang-") and positional:
        return ctx.render(positional[-1].value)
    if name in _TEXT_TEMPLATES_LAST and positional:
        return ctx.render(positional[-1].value)
    if name in _TEXT_TEMPLATES_FIRST and positional:
        return ctx.render(positional[0].value)
    if name in _QUOTE_TEMPLATES:
        text = tpl.get("text").value if tpl.has("text") else (positional[0].value if positional else None)
        return "\n\n" + ctx.render(text).strip() + "\n\n" if text is not None else None
    if name in _JOIN_TEMPLATES and positional:
        return "".join(ctx.render(p.value).strip() for p in positional)
    if name == "as of" and positional:
        # {{As of|2010}} -> "As of 2010"; {{As of|2010|5}} -> "As of May 2010".
        year = str(positional[0].value).strip()
        month = str(positional[1].value).strip() if len(positional) > 1 else ""
        if month.isdigit() and 1 <= int(month) <= 12:
            year = f"{_MONTHS[int(month) - 1]} {year}"
        lead = "as of" if tpl.has("lc") else "As of"
        return f"{lead} {year}"
    if name in ("convert", "cvt") and len(positional) >= 2:
        # {{convert|5|km|mi}} -> "5 km"; {{convert|5|-|7|km}} -> "5-7 km".
        values = [str(p.value).strip() for p in positional]
        if len(values) >= 4 and values[1] in ("-", "to", "and", "or", "–", "x", "by"):
            return f"{values[0]}{values[1] if values[1] in ('-', '–') else ' ' + values[1] + ' '}{values[2]} {values[3]}"
        return f"{values[0]} {values[1]}"
    return None


class _Render:
    """Walks a parsed page once, appending output pieces. One instance per page."""

    __slots__ = ("tables", "drop_prefixes")

    def __init__(self, tables: str, drop_prefixes: frozenset[str]) -> None:
        self.tables = tables
        self.drop_prefixes = drop_prefixes

    def render(self, code: Wikicode | None) -> str:
        if code is None:
            return ""
        parts: list[str] = []
        self._nodes(code.nodes, parts)
        return "".join(parts)

    def _nodes(self, nodes: list, out: list[str]) -> None:
        list_depth = 0
        for node in nodes:
            cls = type(node)
            if cls is Text:
                out.append(node.value)
                if "\n" in node.value:
                    list_depth = 0
            elif cls is Wikilink:
                self._link(node, out)
            elif cls is Tag:
                list_depth = self._tag(node, out, list_depth)
            elif cls is Template:
                text = _template_text(node, self)
                if text:
                    out.append(text)
            elif cls is HTMLEntity:
                out.append(node.normalize())
            elif cls is Heading:
                title = self.render(node.title).strip()
                if title:
                    out.append(f"\n\n{_HEADING}{min(node.level, 9)}{title}")
            elif cls is ExternalLink:
                if node.title is not None:
                    out.append(self.render(node.title))
            # Comment, Argument and anything else render as nothing.

    def _link(self, node: Wikilink, out: list[str]) -> None:
        title = str(node.title).strip()
        if "&" in title:
            title = html.unescape(title)  # [[OS&nbsp;X]] shows as "OS X"
        if title.startswith(":"):  # [[:Category:X]] is an inline link to the page, not a tag
            title = title[1:]
            colon_link = True
        else:
            colon_link = False
        prefix, sep, _ = title.partition(":")
        if sep and not colon_link:
            key = prefix.strip().lower()
            if key in self.drop_prefixes:
                return
            if node.text is None and _INTERLANGUAGE.match(key):
                return  # [[fr:Paris]]: an interlanguage link, not text
        elif sep and prefix.strip().lower() in self.drop_prefixes and node.text is None:
            out.append(title.partition(":")[2])
            return
        if node.text is not None:
            out.append(self.render(node.text))
        else:
            out.append(title)

    def _tag(self, node: Tag, out: list[str], list_depth: int) -> int:
        tag = str(node.tag).lower()
        if tag == "li":
            # "*" and "#" items become "- " bullets; nested items ("**") are indented 2 spaces.
            if list_depth == 0 and out and not out[-1].endswith("\n"):
                out.append("\n")
            if list_depth and out and out[-1].endswith("- "):
                out.pop()  # "**": replace the outer item's bullet by a deeper one
            out.append(_INDENT * (2 * list_depth) + "- ")
            return list_depth + 1
        if tag in ("dd", "dt"):
            # ":" indents and ";" terms: the text on its own line, no marker.
            if not (out and out[-1].endswith("\n")):
                out.append("\n")
            return 0
        if tag in _DROP_TAGS:
            return 0
        if tag == "table":
            if self.tables == "rows":
                out.append("\n" + self._table(node) + "\n")
            else:
                out.append("\n")
            return 0
        if tag in ("br", "hr"):
            out.append("\n")
            return 0
        if tag in ("tr", "td", "th", "caption"):  # stray table parts outside a table
            out.append(" " + self.render(node.contents) + " ")
            return 0
        if node.self_closing:
            return 0
        inner = self.render(node.contents)
        if tag in _BLOCK_TAGS:
            out.append("\n" + inner + "\n")
        else:
            out.append(inner)
        return 0

    def _table(self, node: Tag) -> str:
        rows: list[list[str]] = []
        current: list[str] = []
        caption = ""
        for child in node.contents.nodes:
            if type(child) is not Tag:
                continue
            tag = str(child.tag).lower()
            if tag == "td" and str(child.contents).startswith("+"):
                caption = self._cell(child)[1:].strip()  # "|+ caption" parses as a cell
            elif tag in ("td", "th"):
                current.append(self._cell(child))
            elif tag == "tr":
                if current:
                    rows.append(current)
                    current = []
                rows.append([self._cell(c) for c in child.contents.nodes if type(c) is Tag and str(c.tag).lower() in ("td", "th")])
            elif tag == "caption":
                caption = self._cell(child)
        if current:
            rows.append(current)
        lines = [caption] if caption else []
        lines.extend(" | ".join(c for c in cells if c) for cells in rows if any(cells))
        return "\n".join(lines)

    def _cell(self, node: Tag) -> str:
        text = " ".join(self.render(node.contents).split())
        # A cell holding table markup is where the parser gave up on the table; a heading
        # inside a cell is not a heading of the page.
        if _BROKEN_CELL.search(text):
            return ""
        text = _CELL_ATTRIBUTES.sub("", text)  # attributes the parser left in a cell's text
        return _HEADING_MARK.sub("", text)


_REF_OR_COMMENT = re.compile(r"<ref[^>]*?/>|<ref(?:\s[^>]*)?>.*?</ref\s*>|<!--.*?(?:-->|$)", re.S | re.I)
_BRACES = re.compile(r"\{\{|\}\}")
_TABLE_EDGE = re.compile(r"^[ \t:]*(\{\||\|\})", re.M)
_LITERAL_BLOCK = re.compile(r"<(?:syntaxhighlight|source|pre|code|nowiki|math|poem|tt|kbd|samp)\b", re.I)
_LEFTOVER_QUOTES = re.compile(r"'{2,}")
_QUOTES_BEFORE_S = re.compile(r"(?<=\w)'''(?=s\b)")
_TEMPLATE_NAME = re.compile(r"\{\{\s*([^|{}<\n]*)")


def _is_text_template(name: str) -> bool:
    name = name.strip().lower().replace("_", " ")
    return (
        name in _TEXT_TEMPLATES_FIRST
        or name in _TEXT_TEMPLATES_LAST
        or name.startswith("lang-")
        or name in ("convert", "cvt", "as of")
        or name in _QUOTE_TEMPLATES
        or name in _JOIN_TEMPLATES
    )


def _strip_balanced(text: str, tokens: re.Pattern, opener: str, keep=None) -> str:
    """Remove outermost balanced ``opener``...closer spans found by ``tokens`` (group 1 or the
    whole match is the opener or the closer). ``keep(span_start)`` may spare a span. An
    unclosed opener keeps the rest of the text, so a stray ``{{`` cannot swallow a page."""
    out: list[str] = []
    depth = 0
    last = 0
    start = 0
    for m in tokens.finditer(text):
        tok = m.group(m.lastindex or 0)
        if tok == opener:
            if depth == 0:
                start = m.start(m.lastindex or 0)
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                if keep is None or not keep(start):
                    out.append(text[last:start])
                    last = m.end()
    out.append(text[last:])
    return "".join(out)


def prestrip(wikitext: str, drop_tables: bool = True) -> str:
    """Remove what never reaches the output before parsing: references, comments, templates
    (except the text-wrapping ones `_template_text` renders), bold/italic quotes (unless the
    page has code or nowiki blocks, where quotes may be literal) and, when dropping them,
    tables.

    A regex and a brace counter do this at 100-300 MB/s (measured); mwparserfromhell's parse time is
    proportional to its input, and these parts are about 40% of an article's wikitext
    (measured on the shared enwiki excerpt: 5.7 MB -> 3.6 MB, parse 4.7 s -> 2.0 s).
    """
    text = _REF_OR_COMMENT.sub("", wikitext)

    def keep_template(start: int) -> bool:
        m = _TEMPLATE_NAME.match(text, start)
        return bool(m) and _is_text_template(m.group(1))

    text = _strip_balanced(text, _BRACES, "{{", keep_template)
    if drop_tables:
        text = _strip_balanced(text, _TABLE_EDGE, "{|")
    if not _LITERAL_BLOCK.search(text):
        # Bold/italic quote runs are a third of the parser's tag nodes; removing them first cut
        # parse CPU time by 24% on the shared excerpt. Not where quotes may be literal (code).
        text = _LEFTOVER_QUOTES.sub("", _QUOTES_BEFORE_S.sub("'", text))
    return text


def wikitext_to_text(
    wikitext: str,
    *,
    tables: str = "rows",
    drop_sections: tuple[str, ...] = APPENDIX_SECTIONS,
    drop_link_prefixes: frozenset[str] | tuple[str, ...] = ("file", "image", "media", "category"),
) -> str:
    """Readable plain text from a page's wikitext.

    Templates, ``<ref>``s, comments, file/image/category and interlanguage links are removed;
    a link shows its piped text or its target; bold and italic markup disappear; each heading is
    a line of its own after a blank line; list items (``*``, ``#``) are lines starting ``- ``
    (nested items indented two spaces per level); ``:`` and ``;`` lines stay lines; paragraphs
    stay separated by one blank line; tables are dropped or rendered a row per line (``tables``);
    sections named in ``drop_sections`` are removed with their content.

    >>> wikitext_to_text("'''Foo''' is a [[bar|Bar]].<ref>x</ref> {{cite|y}}\\n==Uses==\\n* one\\n** two\\n[[Category:Z]]")
    'Foo is a Bar.\\n\\nUses\\n- one\\n  - two'
    """
    if _INDENT in wikitext or _HEADING in wikitext:
        wikitext = wikitext.replace(_INDENT, "").replace(_HEADING, "")
    code = mwparserfromhell.parse(prestrip(wikitext, drop_tables=tables == "drop"))
    if drop_sections:
        _remove_sections(code, {s.lower() for s in drop_sections})
    render = _Render(tables, frozenset(p.lower() for p in drop_link_prefixes))
    return _tidy(_fallback(render.render(code), render.drop_prefixes))


def _remove_sections(code: Wikicode, names: set[str]) -> None:
    """Cut every section whose heading is in ``names`` (lower-case), up to the next heading of
    the same or a higher level."""
    nodes = code.nodes
    i = 0
    while i < len(nodes):
        node = nodes[i]
        if type(node) is Heading and str(node.title).strip().strip("'").strip().lower() in names:
            level = node.level
            j = i + 1
            while j < len(nodes) and not (type(nodes[j]) is Heading and nodes[j].level <= level):
                j += 1
            del nodes[i:j]
        else:
            i += 1


_LEFTOVER_LINK = re.compile(r"\[\[(?:[^\[\]]|\[\[[^\[\]]*\]\])*\]\]", re.S)
_PLAIN_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")


def _fallback(text: str, drop_prefixes: frozenset[str]) -> str:
    """Markup mwparserfromhell left as text where it gave up on malformed wikitext (a file
    link whose caption spans lines, an unbalanced italic): remove file and category links,
    keep other links' text, drop bold/italic quote runs (an italic title followed by a
    possessive, ``Iliad`` + three quotes + ``s``, becomes ``Iliad's``)."""

    def link(m: re.Match) -> str:
        body = m.group(0)[2:-2]
        prefix, sep, _ = body.partition(":")
        if sep and prefix.strip().lower() in drop_prefixes:
            return ""
        return _PLAIN_LINK.sub(r"\1", m.group(0))

    if "[[" in text:
        text = _LEFTOVER_LINK.sub(link, text)
    if "{|" in text:  # a table the parser could not read: drop it rather than show markup
        text = _strip_balanced(text, _TABLE_EDGE, "{|")
    if "<" in text:
        text = _LEFTOVER_HTML.sub("", text)
    if "''" in text:
        text = _QUOTES_BEFORE_S.sub("'", text)
        text = _LEFTOVER_QUOTES.sub("", text)
    return text


def _tidy(text: str) -> str:
    """Whitespace and leftover punctuation after markup removal: magic words, empty
    parentheses left by dropped templates, spaces before punctuation, runs of spaces, blank
    lines (at most one in a row), leading/trailing spaces of lines; headings of sections left
    empty (their content was all tables, templates or references) are removed."""
    text = _MAGIC_WORD.sub("", text)
    text = _EMPTY_PARENS.sub("", text)
    text = _SPACE_BEFORE_PUNCT.sub("", text)
    text = _MULTI_SPACE.sub(" ", text)
    lines = [line.strip(" \t\u00a0").replace(_INDENT, " ") for line in text.split("\n")]
    # Walk backwards: a heading followed (past blank lines) by a heading of the same or a
    # higher level, or by nothing, heads an empty section.
    kept: list[str] = []
    following = 0  # level of the next kept heading; 0 = end of text; -1 = content
    for line in reversed(lines):
        if line.startswith(_HEADING):
            level = int(line[1])
            if following == 0 or (following > 0 and following <= level):
                continue
            kept.append(line[2:])
            following = level
        else:
            kept.append(line)
            if line:
                following = -1
    text = "\n".join(reversed(kept))
    return _MULTI_BLANK.sub("\n\n", text).strip()


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------

def _local(tag: str) -> str:
    """``'{http://www.mediawiki.org/xml/export-0.10/}page'`` -> ``'page'``."""
    return tag.rpartition("}")[2]


def _detect_format(path: str, stream: BinaryIO) -> str:
    name = strip_compression_suffix(path).lower()
    if name.endswith(".xml"):
        return "xml"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    head = stream.peek(64)[:64].lstrip(b"\xef\xbb\xbf \t\r\n")  # type: ignore[attr-defined]
    return "xml" if head.startswith(b"<") else "jsonl"


def read(fs: FileSystem, path: str, ctx: ReadContext) -> Iterator[ReadResult]:
    """Read one dump or JSONL file: a `Document` per kept page or line, `Dropped` for
    redirects, non-article namespaces and non-wikitext pages, `Rejected` for malformed XML or
    JSON, undecodable lines and truncated compressed input (after everything readable).

    Position: the 0-based page index in the dump, or line index in a JSONL file.
    XML meta: ``file``, ``position``, ``title``, ``page_id``, ``revision_id``, ``timestamp``,
    ``namespace``, ``url`` (from the dump's base URL). JSONL meta: ``file``, ``position``,
    ``title`` and the configured ``meta_fields``.
    """
    opts: Options = ctx.options if ctx.options is not None else Options()
    rel = relative_to_root(path, ctx.root)
    raw = fs.open(path)
    with raw:
        stream = open_decompressed(raw, path)
        if not hasattr(stream, "peek"):
            stream = io.BufferedReader(stream)  # type: ignore[arg-type]
        try:
            fmt = opts.format if opts.format != "auto" else _detect_format(path, stream)
        except DECOMPRESSION_ERRORS as e:
            yield Rejected(ctx.source, rel, 0, "truncated_input", f"{type(e).__name__}: {e}")
            return
        if fmt == "xml":
            yield from _read_xml(stream, rel, ctx, opts)
        else:
            yield from _read_jsonl(stream, rel, ctx, opts)


def _read_jsonl(stream: BinaryIO, rel: str, ctx: ReadContext, opts: Options) -> Iterator[ReadResult]:
    for item in json_lines(stream, rel, ctx.source):
        if isinstance(item, Rejected):
            yield item
            continue
        position, record = item
        if not isinstance(record, dict) or not isinstance(record.get(opts.text_field), str):
            yield Rejected(ctx.source, rel, position, "missing_text_field",
                           f"expected an object with a string '{opts.text_field}'")
            continue
        meta: dict[str, Any] = {"file": rel, "position": position}
        title = record.get(opts.title_field)
        if title is not None:
            meta["title"] = title
        for key in opts.meta_fields:
            if key in record:
                meta[key] = record[key]
        yield Document(make_id(ctx.source, rel, position), ctx.source, record[opts.text_field], meta)


class _Site:
    """What ``<siteinfo>`` tells: namespace names by number and the article URL prefix."""

    def __init__(self) -> None:
        self.ns_by_name: dict[str, int] = {}
        self.url_prefix = ""
        self.drop_prefixes: frozenset[str] = frozenset()

    def load(self, elem: ET.Element, base_prefixes: tuple[str, ...]) -> None:
        drop = {p.lower() for p in base_prefixes}
        for child in elem:
            name = _local(child.tag)
            if name == "base" and child.text and "/" in child.text:
                self.url_prefix = child.text.rsplit("/", 1)[0] + "/"
            elif name == "namespaces":
                for ns in child:
                    key = int(ns.get("key", "0"))
                    if ns.text:
                        self.ns_by_name[ns.text.lower()] = key
                        if key in (-2, 6, 14):  # Media, File, Category in the wiki's language
                            drop.add(ns.text.lower())
        self.drop_prefixes = frozenset(drop)

    def namespace_of(self, title: str) -> int:
        prefix, sep, _ = title.partition(":")
        return self.ns_by_name.get(prefix.lower(), 0) if sep else 0


_REDIRECT_TEXT = re.compile(r"^\s*#REDIRECT", re.IGNORECASE)


def _read_xml(stream: BinaryIO, rel: str, ctx: ReadContext, opts: Options) -> Iterator[ReadResult]:
    site = _Site()
    site.drop_prefixes = frozenset(p.lower() for p in opts.link_prefixes_to_drop)
    keep_ns = set(opts.namespaces)
    drop_sections = opts.drop_sections
    position = 0
    root = None
    page: dict[str, Any] = {}
    revision: dict[str, Any] = {}
    in_revision = False
    try:
        for event, elem in ET.iterparse(stream, events=("start", "end")):
            name = _local(elem.tag)
            if event == "start":
                if root is None:
                    root = elem
                elif name == "page":
                    page = {}
                    revision = {}
                elif name == "revision":
                    in_revision = True
                    revision = {}  # a full-history dump: keep only the last revision
                continue
            if name == "siteinfo":
                site.load(elem, opts.link_prefixes_to_drop)
                root.clear()  # type: ignore[union-attr]
            elif name == "revision":
                in_revision = False
                elem.clear()
            elif in_revision:
                # The first <id> is the revision's own; a contributor's <id> comes later.
                if name in ("id", "timestamp", "model", "text") and name not in revision:
                    revision[name] = elem.text or ""
                elem.clear()
            elif name in ("title", "ns", "id") and name not in page:
                page[name] = elem.text or ""
            elif name == "redirect":
                page["redirect"] = True
            elif name == "page":
                yield _page_result(page, revision, site, keep_ns, drop_sections, opts.tables, rel, position, ctx)
                position += 1
                page, revision = {}, {}
                root.clear()  # type: ignore[union-attr]
    except ET.ParseError as e:
        yield Rejected(ctx.source, rel, position, "malformed_xml", str(e))
    except DECOMPRESSION_ERRORS as e:
        yield Rejected(ctx.source, rel, position, "truncated_input", f"{type(e).__name__}: {e}")


def _page_result(
    page: dict[str, Any],
    revision: dict[str, Any],
    site: _Site,
    keep_ns: set[int],
    drop_sections: tuple[str, ...],
    tables: str,
    rel: str,
    position: int,
    ctx: ReadContext,
) -> ReadResult:
    doc_id = make_id(ctx.source, rel, position)
    title = page.get("title", "")
    try:
        ns = int(page["ns"]) if page.get("ns", "").strip() else site.namespace_of(title)
    except ValueError:
        return Rejected(ctx.source, rel, position, "malformed_xml", f"page {title!r}: <ns> is {page['ns']!r}")
    if ns not in keep_ns:
        return Dropped(doc_id, ctx.source, "non_article_namespace", rel, position)
    wikitext = revision.get("text", "")
    if page.get("redirect") or _REDIRECT_TEXT.match(wikitext):
        return Dropped(doc_id, ctx.source, "redirect", rel, position)
    if revision.get("model", "wikitext") != "wikitext":
        return Dropped(doc_id, ctx.source, "non_wikitext", rel, position)
    text = wikitext_to_text(wikitext, tables=tables, drop_sections=drop_sections, drop_link_prefixes=site.drop_prefixes)
    meta: dict[str, Any] = {"file": rel, "position": position, "title": title, "namespace": ns}
    if page.get("id"):
        meta["page_id"] = int(page["id"])
    if revision.get("id"):
        meta["revision_id"] = int(revision["id"])
    if revision.get("timestamp"):
        meta["timestamp"] = revision["timestamp"]
    if site.url_prefix and title:
        meta["url"] = site.url_prefix + title.replace(" ", "_")
    return Document(doc_id, ctx.source, text, meta)
