"""Vocabulary over all the shared corpora, seeded by SentencePiece over the whole sample and chunk
by chunk (vocab.seeds): zero round-trip failures, single digits, identical HF ids on every verified
document, per-source bytes per token reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataprep.recipe import Recipe, SourceSpec
from dataprep.vocab_config import VocabConfig
from tests.vocab.corpora_docs import corpus_documents, write_store
from vocab.evaluate import evaluate_vocab
from vocab.export import export_hf
from vocab.train import train_vocab
from vocab.verify import verify_vocab

SOURCES = [("books", 0.2), ("code", 0.2), ("wiki", 0.2), ("news", 0.05), ("dialogue", 0.15), ("web", 0.2)]


@pytest.mark.integration
@pytest.mark.parametrize("seed_chunk_chars", [25_000_000, 500_000], ids=["whole-sample-seeds", "chunk-seeds"])
def test_vocab_over_all_corpora(corpora: Path, tmp_path: Path, seed_chunk_chars: int) -> None:
    docs = corpus_documents(corpora)
    write_store(tmp_path, docs)
    sources = tuple(SourceSpec(n, "text", ("(store)",), w) for n, w in SOURCES)
    vocab = VocabConfig(size=8000, sample_chars=1_500_000, seed_chunk_chars=seed_chunk_chars)
    recipe = Recipe("corpora", 11, sources, vocab=vocab)
    manifest = train_vocab(recipe, str(tmp_path), str(tmp_path))
    assert all(s["sampled_documents"] > 0 for s in manifest["sample"]["sources"].values())
    assert manifest["seeding"].get("chunks", 1) == -(-manifest["sample"]["chars"] // seed_chunk_chars)
    folder = str(tmp_path / "vocab")
    reports = verify_vocab(folder, str(tmp_path), hf=export_hf(folder), max_docs=150, max_chars=1_000_000)
    assert {r.source for r in reports} == {n for n, _ in SOURCES}
    assert all(r.held_out and r.documents > 0 for r in reports)
    failures = [str(f) for r in reports for f in r.failures]
    assert failures == []  # round trip, single digits, no <unk>, byte fallback, HF ids
    result = evaluate_vocab(folder, str(tmp_path), reference=False, max_docs=100, max_chars=500_000)
    for name, _ in SOURCES:
        assert result["groups"][name]["dataprep"]["bytes_per_token"] > 2.0
