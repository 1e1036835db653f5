"""The quality filters and classifier on the real corpora in ../shared/corpora.

Reads the corpora directly (plain text for books, resiliparse for the WARC pages, JSON lines for
the Wikipedia leads) rather than through ``dataprep build``, so this test stands alone.
"""

from __future__ import annotations

import collections
import gzip
import json
from pathlib import Path

import pytest
from resiliparse.extract.html2text import extract_plain_text
from warcio.archiveiterator import ArchiveIterator

from dataprep.filters import apply_checks, make_checks
from dataprep.filters.classifier import QualityModel, is_heldout, save_training, train_quality_model
from dataprep.filters.config import QualityConfig
from dataprep.recipe import parse_recipe
from dataprep.records import Document

pytestmark = pytest.mark.integration


def warc_pages(path: Path, source: str) -> list[Document]:
    """Every HTML response of a WARC as text, navigation included (raw web, not main content)."""
    docs = []
    with open(path, "rb") as f:
        for i, rec in enumerate(ArchiveIterator(f)):
            if rec.rec_type != "response":
                continue
            html = rec.content_stream().read().decode("utf-8", "replace")
            url = rec.rec_headers.get_header("WARC-Target-URI")
            docs.append(Document(f"{source}/{path.name}#{i}", source, extract_plain_text(html, main_content=False), {"url": url}))
    return docs


def text_files(paths: list[Path], source: str) -> list[Document]:
    return [Document(f"{source}/{p.name}#0", source, p.read_text(encoding="utf-8", errors="replace"), {}) for p in paths]


def wiki_leads(path: Path, source: str, limit: int) -> list[Document]:
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            docs.append(Document(f"{source}/{path.name}#{i}", source, json.loads(line)["text"], {}))
    return docs


@pytest.fixture(scope="module")
def corpus(corpora: Path) -> dict[str, list[Document]]:
    return {
        # Training: curated = KJV, Milton, 3,000 Wikipedia leads; raw web = the Python docs.
        "books": text_files([corpora / "books" / "kjv.txt", *sorted((corpora / "books" / "milton").glob("*.txt"))], "books"),
        "wiki": wiki_leads(corpora / "wiki" / "summaries-en-us.jsonl.gz", "wiki", 3000),
        "web": warc_pages(corpora / "web" / "python-3.11-docs.warc.gz", "web"),
        # Never trained on: Austen's novels and the Debian Reference pages.
        "austen": text_files(sorted((corpora / "books" / "austen").glob("*.txt")), "austen"),
        "debian": warc_pages(corpora / "web" / "debian-reference.warc.gz", "debian"),
    }


CONFIG = QualityConfig(max_chunks_per_source=1500)


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    config = CONFIG
    labels = {"books": 1, "wiki": 1, "web": 0}
    docs = corpus["books"] + corpus["wiki"] + corpus["web"]
    model, metrics = train_quality_model(lambda: iter(docs), labels, config, seed=1)
    out = tmp_path_factory.mktemp("quality")
    save_training(model, metrics, str(out))
    return QualityModel.load(str(out)), metrics


def navigation_share(text: str) -> float:
    """Share of non-empty lines of 30 characters or fewer (menus, breadcrumbs, index entries)."""
    lines = [line for line in text.split("\n") if line.strip()]
    return sum(len(line) <= 30 for line in lines) / max(len(lines), 1)


def test_heldout_auc_is_reported_and_high(trained):
    _, metrics = trained
    print(f"\nheld-out ROC AUC: documents {metrics['heldout_doc_auc']}, chunks {metrics['heldout_chunk_auc']}; "
          f"{metrics['train_chunks']} training chunks; per source {json.dumps(metrics['sources'])}")
    assert metrics["heldout_doc_auc"] is not None and metrics["heldout_doc_auc"] >= 0.95
    assert metrics["heldout_chunk_auc"] >= 0.95


def test_navigation_heavy_docs_score_below_austen(trained, corpus):
    model, _ = trained
    austen = {d.id: model.score(d.text) for d in corpus["austen"]}
    # Pages the classifier never saw: the Debian Reference and the held-out Python docs pages.
    unseen_web = [d for d in corpus["web"] if is_heldout(d.id, 1, CONFIG.heldout_fraction)]
    pages = [d for d in corpus["debian"] + unseen_web if len(d.text) > 500]
    nav = sorted(pages, key=lambda d: -navigation_share(d.text))[:10]
    nav_scores = {d.meta["url"]: model.score(d.text) for d in nav}
    print(f"\nAusten: {austen}\nnavigation-heavy pages: {nav_scores}")
    assert min(austen.values()) > 0.5
    assert max(nav_scores.values()) < min(austen.values())
    # Unseen web pages (Debian Reference) score below unseen prose on average too.
    debian = [model.score(d.text) for d in corpus["debian"]]
    assert sum(debian) / len(debian) < min(austen.values())


def test_default_web_rules_on_real_pages(corpus):
    """Per-rule drop counts of the default web filters on the two real WARCs, and prose intact."""
    r = parse_recipe({"name": "t", "sources": [{"name": "web", "kind": "web", "paths": ["x"], "weight": 1.0}]})
    checks = make_checks(r.sources[0], r.quality, r.seed)
    counts: collections.Counter = collections.Counter()
    for doc in corpus["web"] + corpus["debian"]:
        _, verdict = apply_checks(checks, doc)
        counts[verdict.reason or "kept"] += 1
    print(f"\nweb drop reasons: {dict(counts.most_common())}")
    assert counts["kept"] > 0 and sum(counts.values()) == len(corpus["web"]) + len(corpus["debian"])
    assert len(counts) > 3  # several different rules fire on real pages


def test_build_train_rebuild_report_end_to_end(corpora, tmp_path):
    """The contract with the build: its checks come from make_checks, the classifier trains on
    its store, a second build scores web pages, and the report of that build renders cleanly."""
    import yaml
    from click.testing import CliRunner

    from dataprep.recipe import load_recipe
    from dataprep.store import iter_documents
    from pipelines.build import build_documents
    from pipelines.commands.quality import quality, report
    from tests.dataprep.test_report import ARTIFACTS, find_chromium, render

    sources = [
        {"name": "web", "kind": "web", "paths": [str(corpora / "web" / "debian-reference.warc.gz")], "weight": 0.4},
        {"name": "books", "kind": "books", "paths": [str(corpora / "books" / "milton" / "paradise*.txt")], "weight": 0.3},
        {"name": "wiki", "kind": "wiki", "paths": [str(corpora / "wiki" / "enwiki-table-markup.xml.bz2")], "weight": 0.3},
    ]
    first = tmp_path / "first.yaml"
    first.write_text(yaml.safe_dump({"name": "e2e", "seed": 3, "sources": sources}))
    build_documents(load_recipe(str(first)), str(tmp_path / "out1"))
    runner = CliRunner()
    result = runner.invoke(quality, ["train", str(first), "--out", str(tmp_path / "out1")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out1" / "quality" / "model.json").exists()

    sources[0]["filters"] = {"language": {"allowed": ["en"]}, "quality": {"tag_only": True}}
    sources[1]["filters"] = {"quality": {"enabled": True, "tag_only": True}}
    second = tmp_path / "second.yaml"
    second.write_text(yaml.safe_dump({"name": "e2e", "seed": 3, "sources": sources, "quality": {"model": str(tmp_path / "out1" / "quality")}}))
    manifest = build_documents(load_recipe(str(second)), str(tmp_path / "out2"))
    web = manifest["sources"]["web"]
    assert web["read"] == web["kept"] + sum(web["dropped"].values()) + sum(web["rejected"].values())
    kept_web = list(iter_documents(str(tmp_path / "out2"), ["web"]))
    assert kept_web and all("quality_score" in d.meta and d.meta["language"] == "en" for d in kept_web)
    books = list(iter_documents(str(tmp_path / "out2"), ["books"]))
    assert books and all(d.meta["quality_score"] > 0.5 for d in books)  # tagged, never dropped
    assert max(d.meta["quality_score"] for d in kept_web) < min(d.meta["quality_score"] for d in books)
    print(f"\nweb dropped: {web['dropped']}; kept web scores: {[d.meta['quality_score'] for d in kept_web]}")

    result = runner.invoke(report, [str(tmp_path / "out2")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out2" / "report.html").read_text()
    assert "books: quality score" in page and "Drop and reject reasons" in page
    chromium = find_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    assert render(chromium, tmp_path / "out2" / "report.html", ARTIFACTS / "report-corpora.png", tmp_path / "profile") == []
