"""verify and eval on the small trained vocabulary."""

from __future__ import annotations

from pathlib import Path

from dataprep.records import Document
from vocab.evaluate import evaluate_vocab
from vocab.export import export_hf
from vocab.model import Vocab
from vocab.verify import Checker, first_difference, verify_vocab


def test_verify_passes_with_hf_ids(trained: tuple[Path, dict], small_store: Path) -> None:
    folder = str(trained[0] / "vocab")
    hf = export_hf(folder)
    reports = verify_vocab(folder, str(small_store), hf=hf)
    assert {r.source for r in reports} == {"prose", "code"}
    assert all(r.held_out and r.documents > 0 for r in reports)
    assert [f for r in reports for f in r.failures] == []


def test_checker_reports_each_broken_promise(small_vocab: Vocab) -> None:
    checker = Checker(small_vocab)
    doc = Document("s/f#1", "s", "the river 12", {})
    ids = small_vocab.encode([doc.text])[0]
    assert checker.check(doc, ids, ids) == []
    wrong = checker.check(doc._replace(text="the rivet 12"), ids)
    assert [(f.check, f.position) for f in wrong] == [("round_trip", 8)]
    unk = checker.check(doc, ids + [small_vocab.unk_id])
    assert "unk" in [f.check for f in unk]
    byte_a = [small_vocab.piece_to_id("<0x61>")]  # 'a' has its own piece
    assert [f.check for f in checker.check(Document("s/f#2", "s", "a", {}), byte_a)] == ["needless_byte_fallback"]
    other = checker.check(doc, ids, ids[:-1] + [small_vocab.piece_to_id("1")])
    assert [(f.check, f.position) for f in other] == [("hf_ids", len(ids) - 1)]
    assert first_difference("abc", "abd") == 2 and first_difference("ab", "abc") == 2


def test_eval_reports_sources_and_reference(trained: tuple[Path, dict], small_store: Path) -> None:
    result = evaluate_vocab(str(trained[0] / "vocab"), str(small_store), max_docs=50)
    assert set(result["groups"]) == {"prose", "code"}
    for pair in result["groups"].values():
        ours, ref = pair["dataprep"], pair["reference"]
        assert ours["bytes_per_token"] > 1.0 and ref["bytes_per_token"] > 1.0
        assert ours["tokens_per_word"] > 0 and 0.0 <= ours["byte_fallback_rate"] < 0.5
    assert result["unused_pieces"]["dataprep"] >= 0 and result["unused_pieces"]["reference"] >= 0
