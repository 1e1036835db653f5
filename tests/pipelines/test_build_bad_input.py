"""Bad input through a whole build: every case is counted under a reason or rejected with its
file and position; nothing crashes the run and the account balances."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import tarfile
import time

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from dataprep.recipe import parse_recipe
from pipelines.build import build_documents

PROSE = (
    "The river ran quietly past the old mill, and the miller watched it every morning. "
    "In spring the water rose over the stones and carried branches from the hills above the town. "
    "Children gathered on the bridge to count the boats that drifted slowly toward the sea. "
    "By evening the light turned gold, and the baker closed his shutters before the rain began. "
    "Nobody in the village could remember a year when the wheel had stopped turning for long."
)


def make_warc(path: str) -> None:
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for url, ctype, status, body in [
            ("http://example.org/a", "text/html; charset=utf-8", "200 OK", f"<html><body><main><p>{PROSE}</p></main></body></html>".encode()),
            ("http://example.org/logo.png", "image/png", "200 OK", b"\x89PNG\r\n\x1a\n" + os.urandom(64)),
            ("http://example.org/missing", "text/html", "404 Not Found", b"<html><body>not found</body></html>"),
        ]:
            headers = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))


def make_bad_inputs(root):
    (root / "text").mkdir()
    (root / "text" / "mixed.jsonl").write_bytes(
        json.dumps({"text": PROSE}).encode() + b"\n{not json\n" + b'{"text": "caf\xe9 au lait is served in a bowl here"}\n'
    )
    (root / "text" / "empty.jsonl").write_bytes(b"")
    whole = gzip.compress((json.dumps({"text": PROSE}) + "\n").encode() * 200)
    (root / "text" / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    whole = bz2.compress((json.dumps({"text": PROSE}) + "\n").encode() * 200)
    (root / "text" / "cut.jsonl.bz2").write_bytes(whole[: len(whole) // 2])
    (root / "big").mkdir()
    line = ("word " * 10_000_000)[:50_000_000]
    (root / "big" / "one-line.txt").write_text(line)
    (root / "web").mkdir()
    make_warc(str(root / "web" / "site.warc.gz"))
    repo = root / "code" / "repo"
    repo.mkdir(parents=True)
    (repo / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy")
    (repo / "main.py").write_text("def main():\n    print('hello, world')\n\n\nif __name__ == '__main__':\n    main()\n")
    (repo / "blob.py").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("SECRET = 'do not read me'\n" * 3)
    os.symlink(outside / "secret.py", repo / "leak.py")
    tar_path = root / "code" / "evil.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for name, data in [("evil/LICENSE", b"MIT License\nPermission is hereby granted, free of charge"), ("evil/ok.py", b"x = 1\nprint(x + 41)\n"), ("evil/../../escape.py", b"print('escaped')\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_bad_inputs_are_counted_not_fatal(tmp_path):
    make_bad_inputs(tmp_path)
    recipe = parse_recipe(
        {
            "name": "bad",
            "sources": [
                {"name": "text", "kind": "text", "paths": [str(tmp_path / "text" / "*")], "weight": 1,
                 "filters": {"gopher_quality": {"enabled": False}, "gopher_repetition": {"enabled": False}}},
                {"name": "big", "kind": "text", "paths": [str(tmp_path / "big" / "*.txt")], "weight": 1},
                {"name": "web", "kind": "web", "paths": [str(tmp_path / "web" / "*.warc.gz")], "weight": 1},
                {"name": "code", "kind": "code", "paths": [str(tmp_path / "code" / "*")], "weight": 1},
            ],
        }
    )
    started = time.time()
    m = build_documents(recipe, str(tmp_path / "out"))
    assert time.time() - started < 120
    assert m["balanced"], json.dumps(m["sources"], indent=1)
    s = m["sources"]
    assert s["text"]["rejected"].get("malformed_json") == 1
    assert s["text"]["rejected"].get("invalid_utf8") == 1
    assert s["text"]["rejected"].get("truncated_input") == 2  # the cut gzip and the cut bz2
    # The good line and the lines the cut files yielded before the cut are the same prose:
    # exact dedup keeps one of them.
    assert s["text"]["kept"] == 1 and s["text"]["dropped"]["exact_duplicate"] > 2
    assert s["big"]["read"] == 1  # the 50 MB line is read (kept or dropped by a filter), never lost
    assert s["web"]["dropped"].get("not_html") == 1 and s["web"]["dropped"].get("http_status") == 1
    assert s["web"]["kept"] == 1, s["web"]
    code_reasons = {**s["code"]["dropped"], **s["code"]["rejected"]}
    assert "symlink_outside_tree" in code_reasons
    assert "unsafe_archive_path" in code_reasons
    assert any("binary" in r for r in code_reasons)
    rejects = [json.loads(l) for l in (tmp_path / "out" / "rejects" / "text.jsonl").read_text().splitlines()]
    assert all(r["file"] and r["position"] is not None and r["reason"] for r in rejects)
    from dataprep.store import iter_documents

    texts = [d.text for d in iter_documents(str(tmp_path / "out"), ["code"])]
    assert not any("do not read me" in t or "escaped" in t for t in texts)
