"""Tests of the wiki reader: dump streaming, page selection, wikitext rendering, bad input."""

from __future__ import annotations

import bz2
import gzip
import json
import re
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from dataprep.configs import from_mapping
from dataprep.errors import RecipeError
from dataprep.fs import LocalFileSystem
from dataprep.records import Document, Dropped, Rejected
from dataprep.sources import ReadContext
from dataprep.sources.wiki import Options, read, wikitext_to_text

ARTICLE = """{{Infobox settlement|name=Quillby|population=4,200}}
'''Quillby''' is a small ''fictional'' town<ref name="a">{{cite book|title=Atlas}}</ref> on the [[River Wend|Wend]], near [[Harrow Hill]].<ref>Plain ref.</ref><!-- hidden note -->
It was founded in {{convert|1204|AD}} by [[Lothar of Quillby]] &amp; friends.
[[File:Quillby bridge.jpg|thumb|The old bridge over the [[River Wend]]]]

== History ==
The town grew around a '''mill'''. Its name comes from {{lang|de|Quelle}}, "spring".

=== Trade ===
* Wool
** Fine wool
* Cheese, sold at [[Market Day|the weekly market]]
# First charter
# Second charter

; Climate
: Mild and wet.

{| class="wikitable"
|+ Population
! Year !! People
|-
| 1900 || 1,100
|-
| 2000 || style="color:red" | 4,200
|}

== See also ==
* [[List of towns]]

== References ==
{{reflist}}

[[Category:Fictional towns]]
[[de:Quillby]]
"""


def page(title: str, ns: int, page_id: int, text: str, redirect: str | None = None, model: str = "wikitext") -> str:
    red = f'    <redirect title="{escape(redirect)}" />\n' if redirect else ""
    return (
        f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n{red}"
        f"    <revision>\n      <id>{page_id * 10}</id>\n      <parentid>1</parentid>\n"
        f"      <timestamp>2020-01-0{page_id % 9 + 1}T00:00:00Z</timestamp>\n"
        f"      <contributor><username>Editor</username><id>777</id></contributor>\n"
        f"      <model>{model}</model>\n      <format>text/x-wiki</format>\n"
        f'      <text xml:space="preserve">{escape(text)}</text>\n    </revision>\n  </page>\n'
    )


def dump(pages: list[str], version: str = "0.10") -> str:
    return (
        f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-{version}/" version="{version}" xml:lang="en">\n'
        "  <siteinfo>\n    <sitename>Testwiki</sitename>\n    <base>https://test.example.org/wiki/Main_Page</base>\n"
        '    <namespaces>\n      <namespace key="-2">Media</namespace>\n      <namespace key="0" />\n'
        '      <namespace key="1">Talk</namespace>\n      <namespace key="6">File</namespace>\n'
        '      <namespace key="14">Category</namespace>\n    </namespaces>\n  </siteinfo>\n'
        + "".join(pages)
        + "</mediawiki>\n"
    )


PAGES = [
    page("Quillby", 0, 1, ARTICLE),
    page("Quilby", 0, 2, "#REDIRECT [[Quillby]]", redirect="Quillby"),
    page("Talk:Quillby", 1, 3, "Is the mill real? ~~~~"),
    page("Harrow Hill", 0, 4, "'''Harrow Hill''' is a hill near [[Quillby]].\n\nIt is 300 m high."),
    page("Old redirect", 0, 5, "#redirect [[Harrow Hill]]"),  # no <redirect> element
    page("MediaWiki:Common.css", 0, 6, "body { color: red }", model="css"),
]


def _ctx(tmp_path: Path, **options) -> ReadContext:
    return ReadContext("wiki", str(tmp_path), from_mapping(Options, options))


def _read(tmp_path: Path, name: str, data: bytes, **options) -> list:
    path = tmp_path / name
    path.write_bytes(data)
    return list(read(LocalFileSystem(), str(path), _ctx(tmp_path, **options)))


def test_dump_pages_are_selected_and_accounted(tmp_path: Path) -> None:
    out = _read(tmp_path, "dump.xml", dump(PAGES).encode())
    assert len(out) == len(PAGES)  # every page is accounted for
    kinds = [(type(r).__name__, getattr(r, "reason", None)) for r in out]
    assert kinds == [
        ("Document", None),
        ("Dropped", "redirect"),
        ("Dropped", "non_article_namespace"),
        ("Document", None),
        ("Dropped", "redirect"),
        ("Dropped", "non_wikitext"),
    ]
    quillby = out[0]
    assert quillby.id == "wiki/dump.xml#0"
    assert quillby.meta == {
        "file": "dump.xml",
        "position": 0,
        "title": "Quillby",
        "namespace": 0,
        "page_id": 1,
        "revision_id": 10,  # the revision's id, not the contributor's
        "timestamp": "2020-01-02T00:00:00Z",
        "url": "https://test.example.org/wiki/Quillby",
    }
    assert out[3].text == "Harrow Hill is a hill near Quillby.\n\nIt is 300 m high."
    assert out[1].id == "wiki/dump.xml#1" and out[1].file == "dump.xml"


def test_article_text_is_readable(tmp_path: Path) -> None:
    text = _read(tmp_path, "dump.xml", dump(PAGES).encode())[0].text
    expected = (
        'Quillby is a small fictional town on the Wend, near Harrow Hill.\n'
        'It was founded in 1204 AD by Lothar of Quillby & friends.\n\n'
        'History\n'
        'The town grew around a mill. Its name comes from Quelle, "spring".\n\n'
        'Trade\n'
        '- Wool\n'
        '  - Fine wool\n'
        '- Cheese, sold at the weekly market\n'
        '- First charter\n'
        '- Second charter\n\n'
        'Climate\n'
        'Mild and wet.\n\n'
        'Population\n'
        'Year | People\n'
        '1900 | 1,100\n'
        '2000 | 4,200'
    )
    assert text == expected


def test_tables_can_be_dropped(tmp_path: Path) -> None:
    text = _read(tmp_path, "dump.xml", dump(PAGES).encode(), tables="drop")[0].text
    assert text.endswith("Climate\nMild and wet.")
    assert "1,100" not in text and "|" not in text


def test_other_namespaces_can_be_kept(tmp_path: Path) -> None:
    out = _read(tmp_path, "dump.xml", dump(PAGES).encode(), namespaces=[0, 1])
    assert isinstance(out[2], Document) and out[2].meta["title"] == "Talk:Quillby"


def test_older_schema_without_ns_element(tmp_path: Path) -> None:
    pages = [re.sub(r"\s*<ns>\d+</ns>", "", p) for p in PAGES[:4]]
    out = _read(tmp_path, "old.xml", dump(pages, version="0.3").encode())
    assert [type(r).__name__ for r in out] == ["Document", "Dropped", "Dropped", "Document"]
    assert out[2].reason == "non_article_namespace"  # from the "Talk:" prefix


def test_full_history_dump_keeps_the_last_revision(tmp_path: Path) -> None:
    two = page("Quillby", 0, 1, "Old text of the town.").replace(
        "  </page>", "    <revision>\n      <id>99</id>\n      <text>New text of the town.</text>\n    </revision>\n  </page>"
    )
    (doc,) = _read(tmp_path, "history.xml", dump([two]).encode())
    assert doc.text == "New text of the town." and doc.meta["revision_id"] == 99


def test_compressed_dumps(tmp_path: Path) -> None:
    for name, data in [
        ("dump.xml.bz2", bz2.compress(dump(PAGES).encode())),
        ("dump.xml.gz", gzip.compress(dump(PAGES).encode())),
        ("dump.xml.zst", zstandard.ZstdCompressor().compress(dump(PAGES).encode())),
    ]:
        out = _read(tmp_path, name, data)
        assert [type(r).__name__ for r in out].count("Document") == 2, name


def test_truncated_bz2_dump_keeps_what_was_read(tmp_path: Path) -> None:
    many = [page(f"Town {i}", 0, i + 1, f"'''Town {i}''' is a place. " * 200) for i in range(200)]
    data = bz2.compress(dump(many).encode(), compresslevel=1)  # 100 KB blocks: several of them
    out = _read(tmp_path, "cut.xml.bz2", data[: int(len(data) * 0.6)])
    assert isinstance(out[-1], Rejected) and out[-1].reason == "truncated_input"
    docs = out[:-1]
    assert docs and all(isinstance(d, Document) for d in docs)
    assert out[-1].position == len(docs)  # the page where reading stopped


def test_malformed_xml_is_rejected_after_good_pages(tmp_path: Path) -> None:
    data = dump(PAGES[:1]).replace("</mediawiki>", "<page><title>Broken</title><ns>0</ns></pag></mediawiki>")
    out = _read(tmp_path, "bad.xml", data.encode())
    assert isinstance(out[0], Document)
    assert isinstance(out[-1], Rejected) and out[-1].reason == "malformed_xml"
    assert out[-1].file == "bad.xml" and "mismatched tag" in out[-1].detail


def test_jsonl_articles(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "Quillby", "text": "Quillby is a town.\n\nIt has a mill.", "lang": "en"}),
        '{"title": "Broken", "text": ',
        json.dumps({"title": "No text"}),
        "",
        json.dumps({"title": "Harrow", "text": "A hill."}),
    ]
    out = _read(tmp_path, "summaries.jsonl.gz", gzip.compress("\n".join(lines).encode()), meta_fields=["lang"])
    assert [(type(r).__name__, getattr(r, "reason", None)) for r in out] == [
        ("Document", None),
        ("Rejected", "malformed_json"),
        ("Rejected", "missing_text_field"),
        ("Document", None),  # the blank line is no record
    ]
    assert out[0].text == "Quillby is a town.\n\nIt has a mill."  # kept exactly
    assert out[0].meta == {"file": "summaries.jsonl.gz", "position": 0, "title": "Quillby", "lang": "en"}
    assert out[3].id == "wiki/summaries.jsonl.gz#4"  # positions are line indexes


def test_jsonl_custom_fields_and_sniffed_format(tmp_path: Path) -> None:
    data = json.dumps({"name": "Quillby", "body": "A town."}).encode() + b"\n\xff\xfe bad bytes\n"
    out = _read(tmp_path, "articles.dat", data, title_field="name", text_field="body")
    assert out[0].text == "A town." and out[0].meta["title"] == "Quillby"
    assert isinstance(out[1], Rejected) and out[1].reason in ("undecodable", "malformed_json")


def test_xml_format_sniffed_without_extension(tmp_path: Path) -> None:
    out = _read(tmp_path, "dump.data", dump(PAGES[:1]).encode())
    assert isinstance(out[0], Document) and out[0].meta["title"] == "Quillby"


@pytest.mark.parametrize(
    "wikitext, expected",
    [
        ("[[Foo]] and [[Foo|bar]] and [[:Category:Towns|towns]]", "Foo and bar and towns"),
        ("x [[Image:A.png|thumb|caption [[y]]]] z", "x z"),
        ("[http://example.org Example site] and [http://bare.example.org]", "Example site and"),
        ("a<br/>b", "a\nb"),
        ("{{nowrap|5 km}} long", "5 km long"),
        ("Paris ({{IPA-fr|paʁi}}) is a city.", "Paris is a city."),  # pronunciation guides go
        ("Water is {{chem|H|2|O}}, {{IPA|*ʄ}}, {{As of|2010|5}}.", "Water is H2O, *ʄ, As of May 2010."),
        ("Said:\n{{quote|text=To be or not.|sign=X}}\nAfter.", "Said:\n\nTo be or not.\n\nAfter."),
        ("__NOTOC__Text", "Text"),
        ("Text.\n\n\n\nMore.", "Text.\n\nMore."),
        ("== Empty ==\n{{main|X}}\n== Full ==\nBody.", "Full\nBody."),
        ("''Iliad'''s hero", "Iliad's hero"),
        ("", ""),
        ("Unclosed {{template and text after", "Unclosed {{template and text after"),
    ],
)
def test_wikitext_rendering(wikitext: str, expected: str) -> None:
    assert wikitext_to_text(wikitext) == expected


def test_options_are_validated() -> None:
    with pytest.raises(RecipeError, match="tables"):
        from_mapping(Options, {"tables": "keep"})
    with pytest.raises(RecipeError, match="namespaces"):
        from_mapping(Options, {"namespaces": []})
    with pytest.raises(RecipeError, match="format"):
        from_mapping(Options, {"format": "html"})


@pytest.mark.integration
def test_shared_dump_yields_clean_articles(corpora: Path) -> None:
    root = corpora / "wiki"
    path = root / "enwiki-pages-articles-excerpt.xml.bz2"
    out = list(read(LocalFileSystem(), str(path), ReadContext("wiki", str(root), Options())))
    assert len(out) == 206  # every page accounted for
    docs = [r for r in out if isinstance(r, Document)]
    dropped = [r for r in out if isinstance(r, Dropped)]
    assert not [r for r in out if isinstance(r, Rejected)]
    assert len(docs) > 100 and {d.reason for d in dropped} == {"redirect", "non_article_namespace"}
    titles = {d.meta["title"] for d in docs}
    assert "Anarchism" in titles and "AccessibleComputing" not in titles  # the first page is a redirect
    assert not any(":" in t and t.split(":")[0] in ("Wikipedia", "Talk", "File", "Category") for t in titles)
    for d in docs:
        assert "{{" not in d.text and "[[" not in d.text and "<ref" not in d.text, d.meta["title"]
        assert not d.text.lower().startswith("#redirect")
    anarchism = next(d for d in docs if d.meta["title"] == "Anarchism")
    assert anarchism.text.startswith("Anarchism is a political philosophy")


@pytest.mark.integration
def test_shared_summaries_jsonl(corpora: Path) -> None:
    root = corpora / "wiki"
    path = root / "summaries-fr-fr.jsonl.gz"
    out = list(read(LocalFileSystem(), str(path), ReadContext("wiki", str(root), Options())))
    docs = [r for r in out if isinstance(r, Document)]
    assert len(docs) > 5000 and len(docs) == len(out)
    assert all(d.meta["title"] for d in docs[:100])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list("ab \n'[]{}|=*#:;<>/!-&") + ["ref", "{{", "}}", "[[", "]]", "{|", "|}", "\n==",
                                  "File:", "<ref>", "</ref>", "&amp;", "\n* ", "\n|-\n"]), max_size=80).map("".join))
def test_wikitext_rendering_never_raises_on_markup_soup(wikitext: str) -> None:
    text = wikitext_to_text(wikitext)
    assert isinstance(text, str)
    assert "\x00" not in text and "\x01" not in text  # internal markers never leak
    assert text == text.strip()
