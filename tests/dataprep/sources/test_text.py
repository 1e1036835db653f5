"""The ``text`` reader: plain text, JSONL and Parquet, good and bad input (fixtures built here)."""

from __future__ import annotations

import bz2
import collections
import datetime
import gzip
import hashlib
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataprep.configs import from_mapping
from dataprep.errors import RecipeError
from dataprep.fs import LocalFileSystem
from dataprep.records import Document, Rejected
from dataprep.sources import ReadContext
from dataprep.sources import text

FS = LocalFileSystem()


def read_all(path: Path, **options) -> list:
    return list(text.read(FS, str(path), ReadContext("news", str(path.parent), text.Options(**options))))


def reasons(results: list) -> collections.Counter:
    return collections.Counter("doc" if isinstance(r, Document) else r.reason for r in results)


def jsonl(*objs) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


# --- JSONL ---------------------------------------------------------------------------------------


def test_jsonl_documents_with_id_and_meta_fields(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_bytes(
        jsonl(
            {"id": "a1", "text": "Ferry leaves earlier.", "title": "Ferry", "date": "2026-03-02", "extra": 1},
            {"id": 7, "text": "Library opens late.", "title": "Library"},
        )
    )
    docs = read_all(path, id_field="id", meta_fields=("title", "date"))
    assert [d.text for d in docs] == ["Ferry leaves earlier.", "Library opens late."]
    assert [d.id for d in docs] == ["news/news.jsonl#1", "news/news.jsonl#2"]
    assert docs[0].meta == {"file": "news.jsonl", "position": 1, "record_id": "a1", "title": "Ferry", "date": "2026-03-02"}
    assert docs[1].meta == {"file": "news.jsonl", "position": 2, "record_id": "7", "title": "Library"}


def test_jsonl_custom_text_field_and_blank_lines_and_crlf(tmp_path):
    path = tmp_path / "a.ndjson"
    path.write_bytes(b'{"body": "one"}\r\n\r\n   \n{"body": "two"}')  # no newline at the end
    docs = read_all(path, text_field="body")
    assert [(d.text, d.meta["position"]) for d in docs] == [("one", 1), ("two", 4)]


def test_malformed_json_line_is_rejected_and_reading_goes_on(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"text": "good one"}\n{"text": "cut off\n[1, 2]\n{"text": "good two"}\n')
    results = read_all(path)
    assert reasons(results) == {"doc": 2, "malformed_json": 2}
    bad = [r for r in results if isinstance(r, Rejected)]
    assert [r.position for r in bad] == [2, 3]
    assert bad[0].detail.startswith("line 2: Unterminated string") and "column" in bad[0].detail
    assert bad[1].detail == "line 3: expected a JSON object, found list"
    assert bad[0].file == "m.jsonl" and bad[0].source == "news"


def test_missing_or_non_string_text_field(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(jsonl({"title": "no text"}, {"text": None}, {"text": 42}, {"text": "fine"}))
    results = read_all(path)
    assert reasons(results) == {"doc": 1, "missing_text_field": 3}
    details = [r.detail for r in results if isinstance(r, Rejected)]
    assert details[0] == "line 1: field 'text' must be a string, found no such field (keys: title)"
    assert "found a NoneType" in details[1] and "found a int" in details[2]


def test_invalid_utf8_rejected_with_byte_offset(tmp_path):
    path = tmp_path / "u.jsonl"
    first = b'{"text": "fine"}\n'
    path.write_bytes(first + b'{"text": "caf\xe9"}\n{"text": "also fine"}\n')
    results = read_all(path)
    assert reasons(results) == {"doc": 2, "invalid_utf8": 1}
    (rej,) = [r for r in results if isinstance(r, Rejected)]
    assert rej.position == 2
    assert rej.detail.startswith(f"byte offset {len(first) + 13}: invalid continuation byte")


def test_invalid_utf8_replaced_and_counted(tmp_path):
    path = tmp_path / "u.jsonl"
    path.write_bytes(b'{"text": "caf\xe9 \xff\xfe"}\n')
    (doc,) = read_all(path, on_decode_error="replace")
    assert doc.text == "caf\ufffd \ufffd\ufffd" and doc.meta["decode_errors"] == 3


def test_truncated_jsonl_gz_yields_lines_before_the_cut(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    data = gzip.compress(jsonl(*({"text": f"item {i} " * 20} for i in range(2000))))
    path.write_bytes(data[: len(data) // 2])
    results = read_all(path)
    assert isinstance(results[-1], Rejected) and results[-1].reason == "truncated_input"
    docs = results[:-1]
    assert len(docs) > 100 and all(isinstance(d, Document) for d in docs)
    assert [d.meta["position"] for d in docs] == list(range(1, len(docs) + 1))
    assert results[-1].position == len(docs) + 1
    assert "EOFError" in results[-1].detail


def test_jsonl_zst_and_truncated_zst(tmp_path):
    data = zstandard.ZstdCompressor().compress(jsonl(*({"text": f"row {i} " * 30} for i in range(1000))))
    good = tmp_path / "g.jsonl.zst"
    good.write_bytes(data)
    assert reasons(read_all(good)) == {"doc": 1000}
    cut = tmp_path / "c.jsonl.zst"
    cut.write_bytes(data[: len(data) // 2])
    results = read_all(cut)
    assert results[-1].reason == "truncated_input" and all(isinstance(r, Document) for r in results[:-1])


# --- plain text ------------------------------------------------------------------------------------


def test_unit_file_vs_line(tmp_path):
    path = tmp_path / "n.txt"
    path.write_bytes(b"\xef\xbb\xbfFirst article.\n\nSecond article.\r\nThird article.\n")
    (doc,) = read_all(path)
    assert doc.text == "First article.\n\nSecond article.\r\nThird article.\n"  # BOM dropped, text as is
    assert doc.id == "news/n.txt#0" and doc.meta == {"file": "n.txt", "position": 0}
    lines = read_all(path, unit="line")
    assert [(d.text, d.meta["position"]) for d in lines] == [("First article.", 1), ("Second article.", 3), ("Third article.", 4)]
    assert [d.id for d in lines] == ["news/n.txt#1", "news/n.txt#3", "news/n.txt#4"]


def test_plain_text_invalid_utf8(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok line\nbad \xc3\x28 line\n")
    (rej,) = read_all(path)
    assert (rej.reason, rej.position) == ("invalid_utf8", 0)
    assert rej.detail.startswith("byte offset 12: invalid continuation byte")
    results = read_all(path, unit="line")
    assert reasons(results) == {"doc": 1, "invalid_utf8": 1}
    assert results[1].position == 2 and results[1].detail.startswith("byte offset 12:")
    (doc,) = read_all(path, on_decode_error="replace")
    assert doc.meta["decode_errors"] == 1


def test_truncated_txt_bz2(tmp_path):
    # Hashes do not compress, so the file spans several bz2 blocks and the first ones survive the cut.
    lines = "".join(f"line {i}: {hashlib.sha1(str(i).encode()).hexdigest()}\n" for i in range(60000))
    data = bz2.compress(lines.encode())
    path = tmp_path / "t.txt.bz2"
    path.write_bytes(data[: len(data) // 2])
    per_line = read_all(path, unit="line")
    assert per_line[-1].reason == "truncated_input"
    assert len(per_line) > 1000 and all(isinstance(r, Document) for r in per_line[:-1])
    (whole,) = read_all(path)  # one document per file: a cut document is not kept
    assert (whole.reason, whole.position) == ("truncated_input", 0)


def test_empty_files(tmp_path):
    for name in ("e.txt", "e.jsonl"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "e.jsonl.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "z.jsonl.gz").write_bytes(b"")  # not even a gzip header
    assert read_all(tmp_path / "e.jsonl") == []
    assert read_all(tmp_path / "e.jsonl.gz") == []
    assert read_all(tmp_path / "z.jsonl.gz") == []
    assert read_all(tmp_path / "e.txt", unit="line") == []
    (doc,) = read_all(tmp_path / "e.txt")  # the file is one (empty) document; the build drops it
    assert doc.text == ""


def test_fifty_megabyte_single_line(tmp_path):
    big = "x" * 50_000_000
    txt = tmp_path / "big.txt"
    txt.write_text(big + "\n")
    js = tmp_path / "big.jsonl"
    js.write_text(json.dumps({"text": big}) + "\n")
    start = time.perf_counter()
    (a,) = read_all(txt, unit="line")
    (b,) = read_all(js)
    (c,) = read_all(txt)
    assert len(a.text) == len(b.text) == 50_000_000 and len(c.text) == 50_000_001
    assert time.perf_counter() - start < 10  # linear: about 1 s on the CI machine


def test_ids_are_stable_across_reads(tmp_path):
    path = tmp_path / "s.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl(*({"text": f"t{i}"} for i in range(10)))))
    first, second = read_all(path), read_all(path)
    assert first == second and len({d.id for d in first}) == 10


def test_format_auto_and_forced(tmp_path):
    assert text.detect_format("a/b.JSONL.gz") == "jsonl"
    assert text.detect_format("a.b/c") == "text"
    assert text.detect_format("x.pq.zst") == "parquet"
    path = tmp_path / "items.data"
    path.write_bytes(jsonl({"text": "forced"}))
    assert read_all(path)[0].text == '{"text": "forced"}\n'
    assert read_all(path, format="jsonl")[0].text == "forced"


# --- Parquet -------------------------------------------------------------------------------------------


def test_parquet_row_groups_fields_and_meta(tmp_path, monkeypatch):
    monkeypatch.setattr(text, "PARQUET_BATCH_ROWS", 2)  # batches that straddle row groups
    path = tmp_path / "p.parquet"
    table = pa.table(
        {
            "content": [f"article {i}" for i in range(9)] + [None],
            "uid": list(range(10)),
            "published": [datetime.date(2026, 3, 1 + i) for i in range(10)],
            "tags": [["a", "b"]] * 10,
            "unused": ["zzz"] * 10,
        }
    )
    pq.write_table(table, path, row_group_size=3)
    assert pq.ParquetFile(path).num_row_groups == 4
    results = read_all(path, text_field="content", id_field="uid", meta_fields=("published", "tags"))
    assert reasons(results) == {"doc": 9, "missing_text_field": 1}
    assert results[4].text == "article 4" and results[4].id == "news/p.parquet#4"
    assert results[4].meta == {"file": "p.parquet", "position": 4, "record_id": "4", "published": "2026-03-05", "tags": ["a", "b"]}
    assert results[9].position == 9 and results[9].detail.startswith("row 9: field 'content'")


def test_parquet_missing_column_and_corrupt_file(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"body": ["x"]}), path)
    (rej,) = read_all(path)
    assert rej.reason == "missing_text_field" and "no column 'text' (columns: body)" in rej.detail
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(path.read_bytes()[:-30])
    (rej,) = read_all(bad)
    assert rej.reason == "malformed_parquet" and rej.position == 0


def test_parquet_binary_text_column(tmp_path):
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table({"text": pa.array([b"caf\xc3\xa9", b"bad \xff"], type=pa.binary())}), path)
    results = read_all(path)
    assert results[0].text == "café"
    assert results[1].reason == "invalid_utf8" and results[1].detail.startswith("row 1: byte offset 4")


# --- options --------------------------------------------------------------------------------------------


def test_options_validation():
    assert from_mapping(text.Options, {"unit": "line"}).unit == "line"
    assert from_mapping(text.Options, {"meta_fields": ["title"]}).meta_fields == ("title",)
    with pytest.raises(RecipeError) as e:
        from_mapping(text.Options, {"unit": "lines"})
    assert e.value.suggestion == "line"
    with pytest.raises(RecipeError, match="text_feild"):
        from_mapping(text.Options, {"text_feild": "body"})
    with pytest.raises(RecipeError, match="unit"):
        text.Options(format="jsonl", unit="line")
    with pytest.raises(RecipeError, match="meta_fields"):
        text.Options(meta_fields=("file",))
    with pytest.raises(RecipeError, match="meta_fields"):
        text.Options(meta_fields=("text",))
    with pytest.raises(RecipeError, match="text_field"):
        text.Options(text_field="")


# --- round trips -------------------------------------------------------------------------------------

# Any Unicode a UTF-8 file can hold (no lone surrogates), emoji and Korean included.
UNICODE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(UNICODE, min_size=1, max_size=5))
def test_jsonl_round_trip_is_lossless(tmp_path, texts):
    path = tmp_path / "r.jsonl"
    path.write_bytes(jsonl(*({"text": t} for t in texts)))
    assert [d.text for d in read_all(path)] == texts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=UNICODE)
def test_plain_file_round_trip_is_lossless(tmp_path, body):
    if body.startswith("\ufeff"):
        body = "x" + body  # a leading BOM is a file marker, not text, and is dropped by design
    path = tmp_path / "r.txt.gz"
    path.write_bytes(gzip.compress(body.encode("utf-8")))
    (doc,) = read_all(path)
    assert doc.text == body


def test_round_trip_examples(tmp_path):
    texts = ["", "emoji 🎉🍞", "한국어 텍스트", "tab\tand\u2028separator", "zero\x00byte"]
    path = tmp_path / "e.jsonl"
    path.write_bytes(jsonl(*({"text": t} for t in texts)))
    assert [doc.text for doc in read_all(path)] == texts
