"""Normalisation policy, accounting, fs decompression, store and atomic writes."""

from __future__ import annotations

import bz2
import gzip
import json
import os

import pytest
import zstandard
from hypothesis import given, strategies as st

from dataprep.accounting import summarize
from dataprep.fs import DECOMPRESSION_ERRORS, LocalFileSystem, glob_root, open_decompressed, relative_to_root
from dataprep.manifest import read_manifest, write_atomic, write_json_atomic
from dataprep.errors import FormatError
from dataprep.normalize import check_length, normalize_document, normalize_text
from dataprep.records import Document, make_id
from dataprep.store import iter_documents, parquet_bytes, part_name


def test_normalize_newlines_bom_and_surrogates():
    assert normalize_text("\ufeffa\r\nb\rc\n") == ("a\nb\nc\n", 0)
    assert normalize_text("x\ud83dy") == ("x\ufffdy", 1)
    code = "def f():\n\t  return  1   \n\n\n"
    assert normalize_text(code) == (code, 0)  # whitespace is content
    assert normalize_text("ﬁ Å") == ("ﬁ Å", 0)  # no NFKC/NFC


@given(st.text())
def test_normalize_always_gives_encodable_text_without_cr(s):
    out, _ = normalize_text(s)
    out.encode("utf-8")
    assert "\r" not in out
    assert normalize_text(out) == (out, 0)  # idempotent


def test_normalize_document_records_repairs():
    d = Document("i", "s", "a\ud800b", {"file": "f"})
    n = normalize_document(d)
    assert n.text == "a\ufffdb" and n.meta == {"file": "f", "replaced_surrogates": 1}
    clean = Document("i", "s", "abc", {})
    assert normalize_document(clean) is clean


def test_check_length():
    assert check_length("", 1, 10).reason == "empty"
    assert check_length(" \n\t", 1, 10).reason == "empty"
    assert check_length("abc", 4, 10).reason == "too_short"
    assert check_length("a" * 11, 1, 10).reason == "too_long"
    assert check_length("abcd", 4, 10).keep


def test_summarize_balances_and_detects_imbalance():
    stats = {
        ("web", "read", "in"): 10, ("web", "read", "out"): 7, ("web", "read", "dropped:not_html"): 2,
        ("web", "read", "rejected:truncated_input"): 1, ("web", "read", "files"): 2,
        ("web", "normalize", "in"): 7, ("web", "normalize", "out"): 6, ("web", "normalize", "dropped:too_short"): 1,
        ("web", "filter", "in"): 6, ("web", "filter", "out"): 6,
    }
    s = summarize(stats, ["web"])["web"]
    assert s["read"] == 10 and s["kept"] == 6 and s["files"] == 2
    assert s["dropped"] == {"not_html": 2, "too_short": 1} and s["rejected"] == {"truncated_input": 1}
    assert s["balanced"]
    stats[("web", "filter", "in")] = 5
    stats[("web", "filter", "out")] = 5
    assert not summarize(stats, ["web"])["web"]["balanced"]


def test_open_decompressed_all_formats(tmp_path):
    data = b"line one\nline two\n" * 100
    files = {
        "a.txt": data,
        "a.txt.gz": gzip.compress(data),
        "a.txt.bz2": bz2.compress(data),
        "a.txt.zst": zstandard.ZstdCompressor().compress(data),
    }
    for name, blob in files.items():
        (tmp_path / name).write_bytes(blob)
        with open_decompressed(open(tmp_path / name, "rb"), name) as f:
            assert f.read() == data, name


@pytest.mark.parametrize("name, compress", [("t.gz", gzip.compress), ("t.bz2", bz2.compress), ("t.zst", lambda d: zstandard.ZstdCompressor().compress(d))])
def test_truncated_compressed_input_raises_decompression_error(tmp_path, name, compress):
    blob = compress(os.urandom(50_000))
    (tmp_path / name).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DECOMPRESSION_ERRORS):
        with open_decompressed(open(tmp_path / name, "rb"), name) as f:
            while f.read(8192):
                pass


def test_paths_helpers():
    assert glob_root("/a/b/*.txt") == "/a/b"
    assert glob_root("/a/**/x/*.gz") == "/a"
    assert relative_to_root("/a/b/c.txt", "/a") == "b/c.txt"
    assert relative_to_root("/z/c.txt", "/a") == "c.txt"
    assert make_id("web", "x/y.warc", 3) == "web/x/y.warc#3"


def test_local_walk_lists_symlinks_without_following(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.py").write_text("x")
    (tmp_path / "repo" / "a.py").write_text("a")
    os.symlink(tmp_path / "outside", tmp_path / "repo" / "linkdir")
    os.symlink(tmp_path / "outside" / "secret.py", tmp_path / "repo" / "link.py")
    fs = LocalFileSystem()
    paths = [os.path.basename(f.path) for f in fs.walk(str(tmp_path / "repo"))]
    assert paths == ["a.py", "link.py", "linkdir"]
    assert not fs.link_target_inside(str(tmp_path / "repo"), str(tmp_path / "repo" / "link.py"))
    assert fs.link_target_inside(str(tmp_path / "repo"), str(tmp_path / "repo" / "a.py"))


def test_store_round_trip_and_determinism(tmp_path):
    docs = [Document(f"s/f#{i}", "s", f"text {i} ✓\n", {"file": "f", "position": i}) for i in range(5)]
    blob = parquet_bytes(docs)
    assert blob == parquet_bytes(docs)
    (tmp_path / "documents" / "s").mkdir(parents=True)
    (tmp_path / "documents" / "s" / part_name(0, 1)).write_bytes(blob)
    assert list(iter_documents(str(tmp_path))) == docs
    with pytest.raises(FormatError):
        list(iter_documents(str(tmp_path / "missing")))


def test_write_atomic_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "file.bin"

    def boom(f):
        f.write(b"partial")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_atomic(str(target), boom)
    assert not target.exists() and os.listdir(tmp_path / "out") == []
    write_json_atomic(str(target), {"format": "x v1", "n": 1})
    assert json.loads(target.read_text()) == {"format": "x v1", "n": 1}
    assert read_manifest(str(target), "x v1")["n"] == 1
    with pytest.raises(FormatError, match="expected format"):
        read_manifest(str(target), "y v1")
