"""Tests of the books reader: Gutenberg header/footer variants, decoding, bad input."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dataprep.configs import from_mapping
from dataprep.errors import RecipeError
from dataprep.fs import LocalFileSystem
from dataprep.records import Document, Dropped, Rejected
from dataprep.sources import ReadContext
from dataprep.sources.books import Options, decode, header_fields, read, strip_gutenberg

BODY = (
    "CHAPTER I\n\n"
    "The lighthouse keeper counted the ships every evening, though none had come for years.\n"
    "  An indented line stays indented.\n\n"
    "THE END\n"
)

MODERN = (
    "The Project Gutenberg eBook of The Lamp Keeper, by Ada Example\n\n"
    "This eBook is for the use of anyone anywhere in the United States and\n"
    "most other parts of the world at no cost and with almost no restrictions\n\n"
    "Title: The Lamp Keeper\n"
    "       A Tale of the Coast\n\n"
    "Author: Ada Example\n\n"
    "Release Date: March 3, 2004 [eBook #11432]\n\n"
    "Language: English\n\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK THE LAMP KEEPER ***\n\n\n\n"
    "Produced by Jane Volunteer and the Online Distributed\n"
    "Proofreading Team at https://www.pgdp.net\n\n\n"
    + BODY
    + "\n\n\n*** END OF THE PROJECT GUTENBERG EBOOK THE LAMP KEEPER ***\n\n"
    "Updated editions will replace the previous one--the old editions will\n"
    "be renamed.\n"
)

OLD_2000S = (
    "The Project Gutenberg EBook of The Lamp Keeper, by Ada Example\n\n"
    "This eBook is for the use of anyone anywhere at no cost.\n\n"
    "*** START OF THIS PROJECT GUTENBERG EBOOK THE LAMP KEEPER ***\n\n"
    + BODY
    + "\n\nEnd of the Project Gutenberg EBook of The Lamp Keeper, by Ada Example\n\n"
    "*** END OF THIS PROJECT GUTENBERG EBOOK THE LAMP KEEPER ***\n\n"
    "***** This file should be named 11432.txt or 11432.zip *****\n"
)

SMALL_PRINT_1990S = (
    "The Project Gutenberg Etext of The Lamp Keeper, by Ada Example\n\n"
    "Please take a look at the important information in this header.\n\n"
    "**Welcome To The World of Free Plain Vanilla Electronic Texts**\n\n"
    "*****SMALL PRINT!*****\n"
    "LIMITED WARRANTY; DISCLAIMER OF DAMAGES\n"
    "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n"
    "This etext was prepared by A. Volunteer.\n\n"
    + BODY
    + "\n\nEnd of Project Gutenberg's The Lamp Keeper, by Ada Example\n"
)


def _ctx(tmp_path: Path, **options) -> ReadContext:
    return ReadContext("books", str(tmp_path), from_mapping(Options, options))


def _read_one(tmp_path: Path, name: str, data: bytes, **options):
    path = tmp_path / name
    path.write_bytes(data)
    out = list(read(LocalFileSystem(), str(path), _ctx(tmp_path, **options)))
    assert len(out) == 1
    return out[0]


@pytest.mark.parametrize("book", [MODERN, OLD_2000S, SMALL_PRINT_1990S], ids=["modern", "2000s", "small-print"])
def test_gutenberg_header_and_footer_removed(tmp_path: Path, book: str) -> None:
    doc = _read_one(tmp_path, "lamp.txt", book.encode())
    assert isinstance(doc, Document)
    assert doc.text == BODY.rstrip("\n")  # body exactly, credits and surrounding blank lines gone
    assert "Gutenberg" not in doc.text and "Produced by" not in doc.text and "prepared by" not in doc.text
    assert doc.meta["title"].startswith("The Lamp Keeper")
    assert doc.meta["author"] == "Ada Example"
    assert doc.meta["gutenberg_header"] and doc.meta["gutenberg_footer"]
    assert doc.id == "books/lamp.txt#0"
    assert doc.meta["file"] == "lamp.txt" and doc.meta["position"] == 0


def test_modern_header_fields(tmp_path: Path) -> None:
    doc = _read_one(tmp_path, "lamp.txt", MODERN.encode())
    assert doc.meta["title"] == "The Lamp Keeper A Tale of the Coast"  # continuation line joined
    assert doc.meta["language"] == "English"
    assert doc.meta["gutenberg_id"] == 11432
    assert doc.meta["release_date"] == "March 3, 2004"


def test_crlf_book_keeps_its_line_endings(tmp_path: Path) -> None:
    doc = _read_one(tmp_path, "crlf.txt", MODERN.replace("\n", "\r\n").encode())
    assert doc.text == BODY.rstrip("\n").replace("\n", "\r\n")


def test_book_without_markers_is_unchanged(tmp_path: Path) -> None:
    text = "\n\n  " + BODY + "   \n\n\n"
    doc = _read_one(tmp_path, "plain.txt", text.encode())
    assert doc.text == text
    assert "title" not in doc.meta and "gutenberg_header" not in doc.meta


def test_stripping_can_be_switched_off(tmp_path: Path) -> None:
    doc = _read_one(tmp_path, "lamp.txt", MODERN.encode(), strip_gutenberg=False)
    assert doc.text == MODERN


def test_credits_kept_when_asked(tmp_path: Path) -> None:
    doc = _read_one(tmp_path, "lamp.txt", MODERN.encode(), strip_credits=False)
    assert doc.text.startswith("Produced by Jane Volunteer")


def test_marker_quoted_deep_in_a_book_is_not_a_header(tmp_path: Path) -> None:
    filler = "A line of ordinary prose about nothing in particular.\n" * 50
    text = filler + "*** START OF THE PROJECT GUTENBERG EBOOK X ***\n" + BODY
    doc = _read_one(tmp_path, "deep.txt", text.encode(), header_window=1000)
    assert doc.text.startswith(filler)


def test_latin1_book_is_detected(tmp_path: Path) -> None:
    text = (
        "Le garçon était très content. Il répétait: « Où est la mère? » Ça n'allait pas. "
        "Déjà l'été s'achevait, et les élèves rentraient à l'école. "
    ) * 20
    doc = _read_one(tmp_path, "livre.txt", text.encode("latin-1"))
    assert isinstance(doc, Document)
    assert doc.text == text
    assert doc.meta["encoding"] in ("cp1252", "latin_1")


def test_english_with_few_accents_in_cp1252(tmp_path: Path) -> None:
    text = ("It was a fine day at the café, and the naïve waiter smiled \u2014 “how nice”, she said. " * 30)
    doc = _read_one(tmp_path, "cafe.txt", text.encode("cp1252"))
    assert doc.text == text


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    doc = _read_one(tmp_path, "bom.txt", b"\xef\xbb\xbf" + "Ĉu vi parolas?\n".encode())
    assert doc.text == "Ĉu vi parolas?\n"
    assert doc.meta["encoding"] == "utf-8"


def test_utf16_book(tmp_path: Path) -> None:
    text = "The lamp keeper counted the ships — every evening.\n" * 30
    doc = _read_one(tmp_path, "utf16.txt", text.encode("utf-16"))
    assert doc.text == text and doc.meta["encoding"] == "utf_16"


def test_undecodable_book_is_rejected(tmp_path: Path) -> None:
    # Bytes with no text encoding that fits: NULs and control bytes mixed with invalid UTF-8.
    data = bytes(range(256)) * 40
    out = _read_one(tmp_path, "binary.txt", data)
    assert isinstance(out, Rejected) and out.reason == "undecodable"
    assert out.file == "binary.txt"


def test_empty_book(tmp_path: Path) -> None:
    doc = _read_one(tmp_path, "empty.txt", b"")
    assert isinstance(doc, Document) and doc.text == ""


def test_compressed_books(tmp_path: Path) -> None:
    assert _read_one(tmp_path, "a.txt.gz", gzip.compress(MODERN.encode())).text == BODY.rstrip("\n")
    assert _read_one(tmp_path, "b.txt.bz2", bz2.compress(MODERN.encode())).text == BODY.rstrip("\n")


def test_truncated_compressed_book_is_rejected(tmp_path: Path) -> None:
    data = gzip.compress((MODERN * 50).encode())
    out = _read_one(tmp_path, "cut.txt.gz", data[: len(data) // 2])
    assert isinstance(out, Rejected) and out.reason == "truncated_input"


def test_too_large_book_is_dropped(tmp_path: Path) -> None:
    out = _read_one(tmp_path, "big.txt", b"x" * 5000, max_bytes=1000)
    assert isinstance(out, Dropped) and out.reason == "too_large"


def test_options_are_validated() -> None:
    with pytest.raises(RecipeError, match="prefer_encodings"):
        from_mapping(Options, {"prefer_encodings": ["no-such-codec"]})
    with pytest.raises(RecipeError, match="header_window"):
        from_mapping(Options, {"header_window": 0})
    with pytest.raises(RecipeError, match="footer_window"):
        from_mapping(Options, {"footer_window": -5})
    with pytest.raises(RecipeError, match="strip_gutenberg"):
        from_mapping(Options, {"strip_gutenberg": "yes"})


def test_pure_helpers() -> None:
    assert strip_gutenberg("no markers here") == ("no markers here", {})
    assert header_fields("The Project Gutenberg EBook of Emma, by Jane Austen\n") == {"title": "Emma", "author": "Jane Austen"}
    assert decode("plain ascii".encode()) == ("plain ascii", "utf-8")


@pytest.mark.integration
def test_reads_every_shared_book(corpora: Path) -> None:
    root = corpora / "books"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    ctx = ReadContext("books", str(root), Options())
    docs = [r for f in files for r in read(LocalFileSystem(), str(f), ctx)]
    assert len(docs) == len(files)
    assert all(isinstance(d, Document) and len(d.text) > 1000 for d in docs)
    emma = next(d for d in docs if d.meta["file"] == "austen/emma.txt")
    assert emma.text.startswith("EMMA") and emma.text.rstrip().endswith("FINIS")
    assert len({d.id for d in docs}) == len(docs)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_text_without_markers_is_returned_unchanged(text: str) -> None:
    assume("gutenberg" not in text.lower() and "small print" not in text.lower())
    assert strip_gutenberg(text) == (text, {})


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1))
def test_body_between_markers_survives(body: str) -> None:
    assume("gutenberg" not in body.lower() and "small print" not in body.lower())
    assume(body.strip("\r\n") == body and not body.lower().lstrip().startswith(("produced", "transcribed", "e-text", "etext", "this")))
    book = "Title: X\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\n" + body + "\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\n"
    assert strip_gutenberg(book)[0] == body
