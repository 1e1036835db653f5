"""``dataprep report``: the page's data and sections, and a render check in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataprep.errors import FormatError
from dataprep.manifest import write_json_atomic
from dataprep.records import Document
from dataprep.report import collect, length_bin, render_html, write_report
from dataprep.store import BUILD_FORMAT, BUILD_MANIFEST, parquet_bytes, part_name

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


def make_build_dir(root: Path) -> Path:
    """A small build output: two sources in the store, a manifest with stages, dropped samples."""
    web = [
        Document(f"web/a.warc.gz#{i}", "web", "Some web text here. " * (i + 1) * 10, {"language": "en", "language_score": 1.0, "quality_score": i / 10})
        for i in range(10)
    ]
    books = [Document(f"books/b{i}.txt#0", "books", "Call me Ishmael. " * 3000, {"language": "en", "language_score": 1.0}) for i in range(3)]
    for source, docs in (("web", web), ("books", books)):
        d = root / "documents" / source
        d.mkdir(parents=True)
        (d / part_name(0, 1)).write_bytes(parquet_bytes(docs))
    manifest = {
        "format": BUILD_FORMAT,
        "recipe": {
            "name": "demo <corpus>", "seed": 7, "quality": {"model": None},
            "sources": [
                {"name": "web", "kind": "web", "filters": {"language": {"enabled": None, "allowed": ["en"]}, "c4": {"enabled": False}}},
                {"name": "books", "kind": "books", "filters": {}},
            ],
        },
        "fingerprint": "abcdef0123456789",
        "sources": {
            "web": {
                "kind": "web", "read": 30, "kept": 10, "bytes": 4000, "chars": 4000,
                "quality_histogram": [3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8],
                "dropped": {"gopher_word_count": 12, "c4_lorem_ipsum": 5, "quality": 2},
                "rejected": {"bad_http": 1},
                "stages": [
                    {"stage": "read", "in": 30, "out": 29, "dropped": {}, "rejected": {"bad_http": 1}},
                    {"stage": "filter", "in": 29, "out": 10, "dropped": {"gopher_word_count": 12, "c4_lorem_ipsum": 5, "quality": 2}, "rejected": {}},
                ],
            },
            "books": {
                "kind": "books", "read": 3, "kept": 3, "bytes": 150000, "chars": 150000, "dropped": {}, "rejected": {},
                "stages": [{"stage": "read", "in": 3, "out": 3, "dropped": {}, "rejected": {}}, {"stage": "filter", "in": 3, "out": 3, "dropped": {}, "rejected": {}}],
            },
        },
    }
    write_json_atomic(str(root / BUILD_MANIFEST), manifest)
    samples = pa.table({
        "id": ["web/a.warc.gz#20", "web/a.warc.gz#21", "web/a.warc.gz#22"],
        "source": ["web"] * 3,
        "reason": ["gopher_word_count", "gopher_word_count", "c4_lorem_ipsum"],
        "text": ["Home | About", "<script>alert('x')</script>", "Lorem ipsum dolor sit amet."],
    })
    (root / "samples").mkdir()
    pq.write_table(samples, root / "samples" / "dropped.parquet")
    shards = {
        "format": "dataprep-shards v1",
        "sources": {
            "web": {"documents": 10, "available_tokens": 1200, "target_share": 0.5, "realised_share": 0.48, "realised_tokens": {"train": 1100, "validation": 100}, "epochs": 1.0},
            "books": {"documents": 3, "available_tokens": 45000, "target_share": 0.5, "realised_share": 0.52, "realised_tokens": {"train": 1300, "validation": 0}, "epochs": 0.03},
        },
    }
    write_json_atomic(str(root / "shards" / "manifest.json"), shards)
    metrics = {
        "format": "dataprep-quality-metrics v1", "heldout_doc_auc": 0.9876, "heldout_chunk_auc": 0.95,
        "sources": {"web": {"label": 0, "train_chunks": 40, "heldout_docs": 5, "heldout_mean_score": 0.2}},
    }
    write_json_atomic(str(root / "quality" / "metrics.json"), metrics)
    return root


def test_length_bins():
    assert [length_bin(n) for n in (0, 9, 10, 17, 18, 100, 10**7, 10**12)] == [0, 0, 1, 1, 2, 5, 25, 25]


def test_collect_reads_store_manifest_and_samples(tmp_path):
    data = collect(str(make_build_dir(tmp_path)))
    assert data.stats["web"].docs == 10 and data.stats["books"].docs == 3
    assert data.stats["books"].chars == 3 * len("Call me Ishmael. " * 3000)
    assert data.stats["web"].scored == 10 and data.stats["books"].scored == 0
    assert sum(data.stats["web"].score_hist) == 10
    assert data.stats["web"].languages == {"en": 10}
    assert sorted(data.samples) == [("web", "c4_lorem_ipsum"), ("web", "gopher_word_count")]


def test_report_has_every_section_and_escapes_text(tmp_path):
    root = make_build_dir(tmp_path)
    page = render_html(collect(str(root)))
    for section in ('id="summary"', 'id="stages"', 'id="tokens"', 'id="drops"', 'id="lengths"', 'id="quality"', 'id="languages"', 'id="samples"'):
        assert section in page
    assert "gopher_word_count" in page and "c4_lorem_ipsum" in page and "bad_http" in page
    assert "40.00%" in page  # 12 of 30 read dropped by gopher_word_count
    assert "after filter" in page
    assert "45,000" in page and "48.00%" in page  # token counts from shards/manifest.json
    assert "Filters applied" in page and "keep en" in page  # web: language allow-list resolved
    assert "0.9876" in page  # the classifier's held-out AUC from quality/metrics.json
    assert "web: quality score, kept (10)" in page
    assert "web: quality score, all scored (12)" in page  # from the manifest's quality_histogram
    assert "books: quality score" not in page  # books were never scored
    assert "&lt;script&gt;" in page and "<script>" not in page  # sample text escaped, no script
    assert "demo &lt;corpus&gt;" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    assert "Content-Security-Policy" in page
    assert page == render_html(collect(str(root)))  # deterministic


def test_write_report_default_path_and_errors(tmp_path):
    root = make_build_dir(tmp_path / "build")
    path = write_report(str(root))
    assert path == str(root / "report.html") and os.path.getsize(path) > 1000
    with pytest.raises(FormatError):
        write_report(str(tmp_path / "empty_dir_that_is_not_a_build"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / BUILD_MANIFEST).write_text(json.dumps({"format": "other"}))
    with pytest.raises(FormatError, match="expected format"):
        collect(str(tmp_path / "bad"))


def test_report_without_manifest_uses_the_store(tmp_path):
    root = make_build_dir(tmp_path)
    (root / BUILD_MANIFEST).unlink()
    (root / "shards" / "manifest.json").unlink()
    page = render_html(collect(str(root)))
    assert "no build manifest" in page and 'id="lengths"' in page
    assert "no shards/manifest.json" in page


def test_report_cli(tmp_path):
    from click.testing import CliRunner

    from pipelines.commands.quality import report

    root = make_build_dir(tmp_path)
    result = CliRunner().invoke(report, [str(root), "--output", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")


# --- headless Chromium -----------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium is required in CI (apt-get install -y chromium)")
    pytest.skip("chromium not installed (apt-get install -y chromium); the render test needs it")


def render(chromium: str, page: Path, screenshot: Path, profile: Path) -> list[str]:
    """Open ``page`` in headless Chromium, save a screenshot, return the console lines.

    With ``--enable-logging=stderr`` Chromium writes every console message (console.* calls,
    uncaught errors, blocked fetches, Content-Security-Policy violations) as an ``INFO:CONSOLE``
    line; the report has no script, so any such line is a problem.
    """
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}", "--window-size=1280,2400", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert screenshot.exists() and screenshot.stat().st_size > 0, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def test_console_capture_sees_errors(tmp_path):
    """The capture itself works: a page with a console error and a blocked fetch is caught."""
    chromium = find_chromium()
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"></head>"
        "<body><img src=\"http://example.invalid/x.png\"><script>console.error('boom')</script></body></html>"
    )
    lines = render(chromium, bad, tmp_path / "bad.png", tmp_path / "profile")
    assert any("Content Security Policy" in line for line in lines), lines


def test_report_renders_in_chromium_without_console_errors(tmp_path):
    chromium = find_chromium()
    root = make_build_dir(tmp_path / "build")
    page = Path(write_report(str(root)))
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    if shot.exists():
        shot.unlink()
    lines = render(chromium, page, shot, tmp_path / "profile")
    assert lines == [], "\n".join(lines)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
