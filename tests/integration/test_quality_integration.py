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
        # Training: curated = KJV, Milton, Wikipedia leads; raw web = the Python docs.
        "books": text_files([corpora / "books" / "kjv.txt", *sorted((corpora / "books" / "milton").glob("*.txt"))], "books"),
        "wiki": wiki_leads(corpora / "wiki" / "summaries-en-us.jsonl.gz", "wiki", 4000),
        "web": warc_pages(corpora / "web" / "python-3.11-docs.warc.gz", "web"),
        # Never trained on: Austen's novels and the Debian Reference pages.
        "austen": text_files(sorted((corpora / "books" / "austen").glob("*.txt")), "austen"),
        "debian": warc_pages(corpora / "web" / "debian-reference.warc.gz", "debian"),
    }


CONFIG = QualityConfig(max_chunks_per_source=2000)


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
