"""The ``web`` reader: WARC/WET records to documents, drops and rejects (fixtures built here)."""

from __future__ import annotations

import bz2
import collections
import gzip
import io
from pathlib import Path

import pytest
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from dataprep.configs import from_mapping
from dataprep.errors import RecipeError
from dataprep.fs import LocalFileSystem
from dataprep.records import Document, Dropped, Rejected
from dataprep.sources import ReadContext
from dataprep.sources import web

FS = LocalFileSystem()
PROSE = (
    "The lighthouse keeper wrote the weather into a green ledger every evening at six. "
    "Over forty years the ledger grew into eleven volumes, and the harbour school now uses them "
    "to teach children how storms move along the coast and why the autumn gales arrive later "
    "than they did when the keeper started."
)
NAV = '<nav><a href="/">Home</a> | <a href="/log">Weather log</a> | <a href="/visit">Visit the tower</a></nav>'
FOOTER = "<footer><p>Copyright Harbour Light Trust. All rights reserved. Registered charity in the county.</p></footer>"
CYRILLIC = (
    "Мы пекли хлеб каждое утро в старой каменной печи. Тесто поднималось медленно, и к рассвету "
    "весь дом пах свежим хлебом. Соседи приходили с корзинами, и мы делились с ними тем, что было."
)


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}<title>Harbour Light</title></head><body>{NAV}<main><h1>The ledger</h1>{body}</main>{FOOTER}</body></html>"


class Warc:
    """Builds a WARC in memory, record by record."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.writer = WARCWriter(self.buf, gzip=False)

    def response(self, url: str, payload: bytes, content_type: str | None = "text/html; charset=utf-8", status: str = "200 OK") -> "Warc":
        headers = [("Content-Length", str(len(payload)))]
        if content_type is not None:
            headers.insert(0, ("Content-Type", content_type))
        http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
        rec = self.writer.create_warc_record(url, "response", payload=io.BytesIO(payload), length=len(payload), http_headers=http)
        self.writer.write_record(rec)
        return self

    def record(self, rec_type: str, url: str, payload: bytes, warc_content_type: str = "text/plain") -> "Warc":
        rec = self.writer.create_warc_record(
            url, rec_type, payload=io.BytesIO(payload), length=len(payload), warc_content_type=warc_content_type
        )
        self.writer.write_record(rec)
        return self

    def write(self, path: Path, compression: str = "gz") -> Path:
        """Write the WARC; ``gz`` compresses each record separately, as crawlers do."""
        if compression == "gz":
            buf = io.BytesIO()
            writer = WARCWriter(buf, gzip=True)
            from warcio.archiveiterator import ArchiveIterator

            for rec in ArchiveIterator(io.BytesIO(self.buf.getvalue())):
                writer.write_record(rec)
            data = buf.getvalue()
        else:
            data = self.buf.getvalue()
            if compression == "bz2":
                data = bz2.compress(data)
            elif compression == "zst":
                data = zstandard.ZstdCompressor().compress(data)
        path.write_bytes(data)
        return path


def read_all(path: Path, **options) -> list:
    return list(web.read(FS, str(path), ReadContext("web", str(path.parent), web.Options(**options))))


def kinds(results: list) -> collections.Counter:
    return collections.Counter(type(r).__name__ + ("" if isinstance(r, Document) else ":" + r.reason) for r in results)


@pytest.mark.parametrize("extractor", ["trafilatura", "resiliparse"])
def test_html_page_gives_main_text_without_boilerplate(tmp_path, extractor):
    html = page(f"<p>{PROSE}</p><p>{PROSE}</p>").encode()
    path = Warc().response("https://light.example/ledger", html).write(tmp_path / "a.warc.gz")
    (doc,) = read_all(path, extractor=extractor)
    assert isinstance(doc, Document)
    assert "eleven volumes" in doc.text and "The ledger" in doc.text
    assert "Visit the tower" not in doc.text and "Registered charity" not in doc.text
    assert doc.id == "web/a.warc.gz#0"
    assert doc.meta["url"] == "https://light.example/ledger"
    assert doc.meta["file"] == "a.warc.gz" and doc.meta["position"] == 0
    assert doc.meta["date"] and doc.meta["warc_record_id"].startswith("<urn:uuid:")
    assert doc.meta["content_type"] == "text/html; charset=utf-8"
    assert doc.meta["charset"] == "utf-8" and doc.meta["charset_source"] == "http"
    assert doc.meta["decode_errors"] == 0 and doc.meta["extractor"] == extractor


def test_drops_non_html_and_non_200_and_skips_other_record_types(tmp_path):
    good = page(f"<p>{PROSE}</p>").encode()
    warc = (
        Warc()
        .record("warcinfo", "", b"software: test\r\n", "application/warc-fields")
        .record("request", "https://light.example/", b"GET / HTTP/1.1\r\nHost: light.example\r\n\r\n", "application/http; msgtype=request")
        .response("https://light.example/", good)
        .record("metadata", "https://light.example/", b"fetchTimeMs: 12\r\n", "application/warc-fields")
        .response("https://light.example/lamp.png", b"\x89PNG\r\n\x1a\nnot really", "image/png")
        .response("https://light.example/gone", page("<p>Not found</p>").encode(), status="404 Not Found")
        .response("https://light.example/moved", b"", status="301 Moved Permanently")
        .record("revisit", "https://light.example/", b"", "application/http; msgtype=response")
    )
    results = read_all(warc.write(tmp_path / "b.warc"))
    assert kinds(results) == {"Document": 1, "Dropped:not_html": 1, "Dropped:http_status": 2}
    dropped = {r.position: r.reason for r in results if isinstance(r, Dropped)}
    assert dropped == {4: "not_html", 5: "http_status", 6: "http_status"}
    assert all(r.id == f"web/b.warc#{r.position}" and r.file == "b.warc" for r in results if isinstance(r, Dropped))


def test_html_without_content_type_is_sniffed(tmp_path):
    path = (
        Warc()
        .response("https://light.example/a", page(f"<p>{PROSE}</p>").encode(), content_type=None)
        .response("https://light.example/b", b"just some bytes, no markup at all", content_type=None)
        .write(tmp_path / "c.warc")
    )
    assert kinds(read_all(path)) == {"Document": 1, "Dropped:not_html": 1}


def test_charset_from_http_header(tmp_path):
    html = page(f"<p>{CYRILLIC}</p>").encode("cp1251")
    path = Warc().response("https://x.example/", html, "text/html; charset=windows-1251").write(tmp_path / "h.warc")
    (doc,) = read_all(path)
    assert "каменной печи" in doc.text
    assert (doc.meta["charset"], doc.meta["charset_source"], doc.meta["decode_errors"]) == ("cp1251", "http", 0)


@pytest.mark.parametrize(
    "meta_tag",
    ['<meta charset="windows-1251">', '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'],
)
def test_charset_from_meta_tag(tmp_path, meta_tag):
    html = page(f"<p>{CYRILLIC}</p>", head=meta_tag).encode("cp1251")
    path = Warc().response("https://x.example/", html, "text/html").write(tmp_path / "m.warc")
    (doc,) = read_all(path)
    assert "каменной печи" in doc.text
    assert (doc.meta["charset"], doc.meta["charset_source"]) == ("cp1251", "meta")


def test_charset_detected_when_undeclared(tmp_path):
    html = page(f"<p>{CYRILLIC}</p><p>{CYRILLIC}</p>").encode("cp1251")
    path = Warc().response("https://x.example/", html, "text/html").write(tmp_path / "d.warc")
    (doc,) = read_all(path)
    assert "каменной печи" in doc.text
    assert (doc.meta["charset"], doc.meta["charset_source"]) == ("cp1251", "detected")


def test_undecodable_bytes_are_counted(tmp_path):
    html = page(f"<p>{PROSE}</p><p>broken \xff\xfe byte run here</p>").encode("latin-1")
    path = Warc().response("https://x.example/", html, "text/html; charset=utf-8").write(tmp_path / "u.warc")
    (doc,) = read_all(path)
    assert doc.meta["decode_errors"] == 2
    assert "eleven volumes" in doc.text


def test_latin1_label_decodes_as_windows_1252(tmp_path):
    html = page(f"<p>{PROSE}</p><p>\u201cQuoted\u201d \u2013 caf\u00e9</p>").encode("cp1252")
    path = Warc().response("https://x.example/", html, "text/html; charset=iso-8859-1").write(tmp_path / "l.warc")
    (doc,) = read_all(path)
    assert "\u201cQuoted\u201d \u2013 caf\u00e9" in doc.text and doc.meta["charset"] == "cp1252"


def test_wet_conversion_record_is_read_as_is(tmp_path):
    text = "First line of the converted page.\nSecond line, with ünïcödé.\n"
    path = Warc().record("conversion", "https://x.example/page", text.encode()).write(tmp_path / "w.warc.wet.gz")
    (doc,) = read_all(path)
    assert doc.text == text
    assert doc.meta["url"] == "https://x.example/page" and doc.meta["content_type"] == "text/plain"
    assert doc.meta["position"] == 0 and doc.meta["charset"] == "utf-8"


def test_empty_extraction_and_oversize_are_dropped(tmp_path):
    path = (
        Warc()
        .response("https://x.example/empty", b"<html><head><script>var a = 1;</script></head><body></body></html>")
        .response("https://x.example/big", page(f"<p>{PROSE * 50}</p>").encode())
        .write(tmp_path / "e.warc")
    )
    assert kinds(read_all(path, max_payload_bytes=5000)) == {"Dropped:empty_extraction": 1, "Dropped:too_large": 1}


@pytest.mark.parametrize("compression,name", [("gz", "p.warc.gz"), ("none", "p.warc"), ("bz2", "p.warc.bz2"), ("zst", "p.warc.zst")])
def test_compressions(tmp_path, compression, name):
    warc = Warc()
    for i in range(3):
        warc.response(f"https://x.example/{i}", page(f"<p>Page {i}. {PROSE}</p>").encode())
    results = read_all(warc.write(tmp_path / name, compression))
    assert [r.meta["url"] for r in results] == [f"https://x.example/{i}" for i in range(3)]


def _three_pages(tmp_path: Path, name: str, compression: str) -> Path:
    warc = Warc()
    for i in range(3):
        warc.response(f"https://x.example/{i}", page(f"<p>Page {i}. {PROSE}</p>").encode())
    return warc.write(tmp_path / name, compression)


def test_truncated_gzip_warc_yields_what_was_readable_then_rejects(tmp_path):
    path = _three_pages(tmp_path, "t.warc.gz", "gz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])  # cut inside the last record's gzip member
    results = read_all(path)
    assert [type(r) for r in results] == [Document, Document, Rejected]
    assert results[-1].reason == "truncated_input" and results[-1].position == 2
    assert "EOFError" in results[-1].detail


def test_truncated_plain_warc_rejects_the_cut_record(tmp_path):
    path = _three_pages(tmp_path, "t.warc", "none")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    results = read_all(path)
    assert [type(r) for r in results] == [Document, Document, Rejected]
    assert results[-1].reason == "truncated_input" and results[-1].position == 2


def test_not_gzip_despite_name_is_rejected(tmp_path):
    path = tmp_path / "bad.warc.gz"
    path.write_bytes(b"this is not gzip at all")
    (rej,) = read_all(path)
    assert rej.reason == "truncated_input" and rej.position == 0


def test_empty_file_yields_nothing(tmp_path):
    (tmp_path / "empty.warc").write_bytes(b"")
    (tmp_path / "empty.warc.gz").write_bytes(gzip.compress(b""))
    assert read_all(tmp_path / "empty.warc") == []
    assert read_all(tmp_path / "empty.warc.gz") == []


def test_ids_are_stable_across_reads(tmp_path):
    path = _three_pages(tmp_path, "s.warc.gz", "gz")
    first, second = read_all(path), read_all(path)
    assert first == second
    assert len({r.id for r in first}) == 3


def test_options_validation():
    assert from_mapping(web.Options, {}).extractor == "trafilatura"
    assert from_mapping(web.Options, {"extractor": "resiliparse"}).extractor == "resiliparse"
    with pytest.raises(RecipeError) as e:
        from_mapping(web.Options, {"extractor": "resiliparser"})
    assert e.value.suggestion == "resiliparse"
    with pytest.raises(RecipeError, match="max_payload_bytes"):
        web.Options(max_payload_bytes=0)
    with pytest.raises(RecipeError, match="extractr"):
        from_mapping(web.Options, {"extractr": "trafilatura"})


def test_charset_helpers():
    assert web.http_charset("text/html; charset=UTF-8") == "utf-8"
    assert web.http_charset('text/html; charset="koi8-r"') == "koi8_r"
    assert web.http_charset("text/html") is None
    assert web.http_charset("text/html; charset=x-unknown-thing") is None
    assert web.meta_charset(b'<head><meta charset=utf-8 /></head>') == "utf-8"
    assert web.meta_charset(b"<html>" + b" " * 5000 + b'<meta charset="cp1251">') is None  # past the prescan
    assert web.normalise_charset("US-ASCII") == "cp1252"
    assert web.is_html("application/xhtml+xml", b"")
    assert not web.is_html("text/plain", b"<html>")
    assert web.is_html(None, b"  <!-- hi -->\n<!DOCTYPE html><html>")


def test_bom_wins_over_declarations():
    text, charset, where, errors = web.decode_html(b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "text/html; charset=cp1251")
    assert (text, charset, where, errors) == ("<p>café</p>", "utf-8", "bom", 0)


# --- the shared WARCs ------------------------------------------------------------------------------


def _norm_lines(text: str) -> set[str]:
    return {" ".join(line.split()) for line in text.splitlines() if line.strip()}


@pytest.mark.integration
def test_shared_warcs_every_page_read_and_navigation_gone(corpora):
    from resiliparse.extract.html2text import extract_plain_text
    from warcio.archiveiterator import ArchiveIterator

    from dataprep.records import Pending

    opts = web.Options()
    for name, pages in (("debian-reference.warc.gz", 15), ("python-3.11-docs.warc.gz", 530)):
        path = corpora / "web" / name
        # Every page is read (deferred: extraction is the slow part, and the full build's
        # integration test extracts them all); a fixed sample of every 6th page is extracted.
        pending = list(web.read(FS, str(path), ReadContext("web", str(path.parent), opts), defer=True))
        assert len(pending) == pages and all(isinstance(p, Pending) for p in pending)
        results = [web.finish(p, opts) for p in pending[::6]]
        assert all(isinstance(r, Document) for r in results), kinds(results)
        assert all(r.meta["url"].startswith("https://") and r.meta["decode_errors"] == 0 for r in results)

    # Boilerplate = a line of a page's full visible text that recurs on at least half of the
    # Python docs pages (navigation bar, search box, footer); measure how much of it is left.
    full = []
    with open(corpora / "web" / "python-3.11-docs.warc.gz", "rb") as fh:
        for record in ArchiveIterator(fh):
            full.append(_norm_lines(extract_plain_text(record.content_stream().read().decode(), main_content=False)))
    counts = collections.Counter(line for lines in full for line in lines)
    recurring = {line for line, c in counts.items() if c >= len(full) / 2}
    assert len(recurring) >= 10  # the nav bar, search box and footer lines
    total = left = 0
    for page_lines, doc in zip(full[::6], results):
        out = _norm_lines(doc.text)
        boiler = recurring & page_lines
        total += len(boiler)
        left += len(boiler & out)
    assert total > 800
    assert left / total < 0.02  # measured 0.5 % with trafilatura (docs/web-and-text.md)
    assert not any("Please donate." in d.text or "Quick search" in d.text for d in results)


def test_non_warc_files_are_rejected(tmp_path):
    text_file = tmp_path / "notes.warc"
    text_file.write_bytes(b"hello, this is not a crawl\nsecond line\n")
    binary = tmp_path / "noise.warc.gz"
    binary.write_bytes(gzip.compress(bytes(range(256)) * 20))
    for path in (text_file, binary):
        (rej,) = read_all(path)
        assert (rej.reason, rej.position) == ("malformed_warc", 0)


def _encoded(tmp_path: Path, encoding: str, body: bytes, chunked: bool = False) -> Path:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", encoding)]
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
        body = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 100]), body[i : i + 100]) for i in range(0, len(body), 100)) + b"0\r\n\r\n"
    http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record("https://x.example/", "response", payload=io.BytesIO(body), length=len(body), http_headers=http))
    path = tmp_path / f"{encoding}-{chunked}.warc"
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.parametrize("chunked", [False, True])
def test_content_encodings_are_undone(tmp_path, chunked):
    brotli = pytest.importorskip("brotli")
    html = page(f"<p>{PROSE}</p>").encode()
    for encoding, body in (("gzip", gzip.compress(html)), ("br", brotli.compress(html))):
        (doc,) = read_all(_encoded(tmp_path, encoding, body, chunked))
        assert "eleven volumes" in doc.text, encoding


def test_broken_content_encoding_is_rejected_and_reading_goes_on(tmp_path):
    pytest.importorskip("brotli")
    (rej,) = read_all(_encoded(tmp_path, "br", b"definitely not brotli"))
    assert rej.reason == "content_encoding" and rej.detail.startswith("Content-Encoding br:")


def test_utf16_meta_means_utf8_but_utf16_header_is_honoured():
    assert web.meta_charset(b'<meta charset="utf-16">') == "utf-8"
    html = "<html><body><p>Grüße aus dem Leuchtturm</p></body></html>"
    text, charset, where, _ = web.decode_html(html.encode("utf-16-le"), "text/html; charset=utf-16le")
    assert (text, charset, where) == (html, "utf_16_le", "http")


def test_deferred_read_then_finish_equals_direct_read(tmp_path):
    """The build defers extraction (Pending) to spread it over workers: same results."""
    import pickle

    from dataprep.records import Pending

    good = page(f"<p>{PROSE}</p>").encode()
    warc = (
        Warc()
        .response("https://light.example/", good)
        .response("https://light.example/lamp.png", b"\x89PNG\r\n\x1a\nnot really", "image/png")
        .response("https://light.example/empty", page("").encode())
    )
    path = warc.write(tmp_path / "d.warc.gz")
    direct = read_all(path)
    opts = web.Options()
    deferred = list(web.read(FS, str(path), ReadContext("web", str(tmp_path), opts), defer=True))
    assert sum(isinstance(r, Pending) for r in deferred) == 2  # the two HTML pages
    finished = [web.finish(pickle.loads(pickle.dumps(r)), opts) if isinstance(r, Pending) else r for r in deferred]
    assert finished == direct
