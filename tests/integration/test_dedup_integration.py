"""Dedup over real corpora: the byte-identical Milton pairs and Shakespeare's two editions."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataprep.dedup.config import DedupConfig, stage_settings
from dataprep.dedup.local import drop_exact_duplicates, drop_near_duplicates
from dataprep.records import Document

pytestmark = pytest.mark.integration


def test_milton_exact_pairs_and_edited_copies(corpora: Path) -> None:
    milton = sorted((corpora / "books" / "milton").glob("*.txt"))
    docs = [Document(f"books/{p.name}", "books", p.read_text(encoding="utf-8", errors="replace"), {"file": p.name}) for p in milton]
    settings = stage_settings(DedupConfig())
    exact = drop_exact_duplicates(docs, settings)
    dropped = {d.id for d in exact.dropped}
    # the README's two byte-identical pairs
    assert len({"books/paradiselost.txt", "books/paradise_lost_(no_introduction)_gut.txt"} & dropped) == 1
    assert len({"books/comus.txt", "books/comus_gut.txt"} & dropped) == 1
    # an edited copy (a paragraph removed, a header added) is a near duplicate of its original
    comus = next(d for d in exact.kept if "comus" in d.id)
    paras = comus.text.split("\n\n")
    edited = "A NEW HEADER LINE\n\n" + "\n\n".join(paras[:10] + paras[11:])
    near = drop_near_duplicates(exact.kept + [Document("books/edited", "books", edited, {})], settings)
    assert [d.id for d in near.dropped] == ["books/edited"]


def test_shakespeare_editions_are_not_near_duplicates_at_0_8(corpora: Path) -> None:
    folder = corpora / "books" / "shakespeare"
    modern = sorted(folder.glob("*_gut.txt"))[:3]
    docs = []
    for p in modern:
        folio = p.with_name(p.name.replace("_gut.txt", "_gut_f.txt"))
        for q in (p, folio):
            if q.exists():
                docs.append(Document(f"books/{q.name}", "books", q.read_text(encoding="utf-8", errors="replace"), {}))
    out = drop_near_duplicates(docs, stage_settings(DedupConfig()))
    # word 5-gram Jaccard of the two spellings is about 0.15 (corpora README): kept apart
    assert not out.dropped
