"""Training: sampling, chunking, segmentation, determinism, bad input."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataprep.errors import FormatError, RecipeError, StageError
from dataprep.records import Document
from tests.vocab.conftest import make_docs, make_recipe
from tests.vocab.corpora_docs import write_store
from vocab.model import SEGMENT_MAX, SEGMENT_MIN, SEGMENT_PATTERN, Vocab, proto_fields, quantize_scores, segment_text
from vocab.train import (
    chunk_text,
    is_held_out,
    collect_sample,
    plan_sample,
    share_budget,
    train_vocab,
)


def test_share_budget_water_fills() -> None:
    assert share_budget(100, {"a": 1.0, "b": 1.0}, {"a": 10, "b": 500}) == {"a": 10, "b": 90}
    assert share_budget(100, {"a": 3.0, "b": 1.0}, {"a": 1000, "b": 1000}) == {"a": 75, "b": 25}
    assert share_budget(100, {"a": 1.0, "b": 1.0}, {"a": 0, "b": 40}) == {"a": 0, "b": 40}


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("ab \n\u00e9\u4e2d\U0001f600"), max_size=400), limit=st.integers(8, 64))
def test_chunks_concatenate_and_fit(text: str, limit: int) -> None:
    chunks = chunk_text(text, limit)
    assert "".join(chunks) == text
    assert all(0 < len(c.encode()) <= limit for c in chunks)


def test_chunks_end_at_lines() -> None:
    assert chunk_text("ab\ncd\nef", 6) == ["ab\ncd\n", "ef"]
    assert chunk_text("short", 1024) == ["short"]


@settings(max_examples=60, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(["a", "bb", " ", "   ", "\n", "\u4e2d\u6587", "\u2581"]), min_size=0, max_size=3000
    ).map("".join)
)
def test_segments_match_the_exported_pre_tokenizer(text: str) -> None:
    from tokenizers import Regex, pre_tokenizers

    segments = segment_text(text)
    assert "".join(segments) == text
    assert all(len(s) <= SEGMENT_MAX for s in segments)
    assert all(len(s) >= SEGMENT_MIN for s in segments[:-1])
    normalized = text.replace("\u2581", "\U0010ffff").replace(" ", "\u2581")
    hf = [s for s, _ in pre_tokenizers.Split(Regex(SEGMENT_PATTERN), behavior="isolated").pre_tokenize_str(normalized)]
    assert [s.replace("\U0010ffff", "\u2581").replace("\u2581", " ") for s in hf] == [
        s.replace("\u2581", " ") for s in segments
    ]
    assert [len(s) for s in hf] == [len(s) for s in segments]


def test_quantized_scores_are_on_the_grid(small_vocab: Vocab) -> None:
    again, grid = quantize_scores(small_vocab.serialized_model)
    assert again == small_vocab.serialized_model  # already quantized at training: idempotent
    sp = small_vocab.processor
    for i in range(small_vocab.size):
        assert (sp.get_score(i) / grid).is_integer()
    fields = proto_fields(small_vocab.serialized_model)
    assert len(fields[1]) == small_vocab.size
    assert struct.calcsize("<f") == 4


def test_manifest_and_sample(trained: tuple[Path, dict], small_store: Path) -> None:
    out, manifest = trained
    on_disk = json.loads((out / "vocab" / "vocab.json").read_text())
    assert on_disk["format"] == "dataprep-vocab v1"
    assert on_disk["model_sha256"] == Vocab.load(out / "vocab").fingerprint
    sources = on_disk["sample"]["sources"]
    assert set(sources) == {"prose", "code"}
    for s in sources.values():
        assert s["held_out_documents"] >= 1
        assert s["sampled_chars"] <= s["budget_chars"]
        assert s["sampled_documents"] + s["held_out_documents"] <= s["documents"]
    assert on_disk["trainer_options"]["normalization_rule_name"] == "identity"
    assert (out / "vocab" / "spm.vocab").read_text().splitlines()[4].startswith("<extra_id_0>\t")


def test_held_out_documents_are_never_trained_on(small_store: Path) -> None:
    recipe = make_recipe(holdout=0.2)
    plans = plan_sample(recipe, str(small_store))
    sample = set(collect_sample(recipe, str(small_store), plans))
    docs = make_docs()
    held = [d for ds in docs.values() for d in ds if is_held_out(recipe.seed, d.id, 0.2)]
    assert held
    assert not any(d.text in sample for d in held)


def test_budget_is_shared_by_weight(small_store: Path) -> None:
    recipe = make_recipe(sample_chars=50_000)
    plans = plan_sample(recipe, str(small_store))
    assert plans["prose"].sampled_chars == 30_000 and plans["code"].sampled_chars == 20_000
    chunks = collect_sample(recipe, str(small_store), plans)
    assert abs(sum(len(c) for c in chunks) - 50_000) < 2_000  # the cut document ends at a line end


def test_retrain_is_byte_identical_and_layout_independent(tmp_path: Path, trained: tuple[Path, dict]) -> None:
    store = tmp_path / "store"
    write_store(store, make_docs(), per_part=37)  # other part layout, same documents
    manifest = train_vocab(make_recipe(), str(tmp_path / "run"), str(store))
    first = (trained[0] / "vocab" / "spm.model").read_bytes()
    assert (tmp_path / "run" / "vocab" / "spm.model").read_bytes() == first
    assert manifest["model_sha256"] == trained[1]["model_sha256"]


def test_rerun_is_skipped_unless_forced(tmp_path: Path, small_store: Path) -> None:
    recipe = make_recipe(size=600)
    first = train_vocab(recipe, str(tmp_path), str(small_store))
    again = train_vocab(recipe, str(tmp_path), str(small_store))
    assert not first["skipped"] and again["skipped"]
    assert train_vocab(recipe, str(tmp_path), str(small_store), force=True)["model_sha256"] == first["model_sha256"]
    changed = train_vocab(make_recipe(size=650), str(tmp_path), str(small_store))
    assert not changed["skipped"] and changed["size"] == 650


def test_too_large_vocab_gives_the_maximum(tmp_path: Path, small_store: Path) -> None:
    with pytest.raises(RecipeError, match=r"vocab.size.*at most [\d,]+ for this training sample"):
        train_vocab(make_recipe(size=50_000, sample_chars=20_000), str(tmp_path), str(small_store))


def test_no_store_says_build_first(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="dataprep build"):
        train_vocab(make_recipe(), str(tmp_path))


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    write_store(tmp_path, {"prose": [], "code": []})
    with pytest.raises(StageError, match="no documents"):
        train_vocab(make_recipe(), str(tmp_path))
    write_store(tmp_path, {"prose": [Document("prose/f#0", "prose", "", {})], "code": []})
    with pytest.raises(StageError, match="empty"):
        train_vocab(make_recipe(), str(tmp_path))


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_too_small_vocab_gives_the_minimum(tmp_path: Path, small_store: Path, model_type: str) -> None:
    with pytest.raises(RecipeError, match=r"vocab.size.*at least [\d,]+"):
        train_vocab(make_recipe(size=300, model_type=model_type), str(tmp_path), str(small_store))


def test_bpe_round_trips_too(tmp_path: Path, small_store: Path) -> None:
    train_vocab(make_recipe(model_type="bpe"), str(tmp_path), str(small_store))
    vocab = Vocab.load(tmp_path / "vocab")
    texts = ["  x = 1234\n\tif a\u2581b:\r\n", "\u4e2d\u6587 \U0001f600", "word " * 500]
    assert vocab.model_type == "bpe"
    assert [vocab.decode(ids) for ids in vocab.encode(texts)] == texts
