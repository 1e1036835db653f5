"""Chunk-seeded unigram training (vocab.seeds): bounded-memory seeds, same guarantees."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from dataprep.errors import RecipeError
from dataprep.store import iter_documents
from tests.vocab.conftest import make_recipe
from tests.vocab.test_export import _long_texts
from tests.vocab.test_model import CASES, TEXT
from vocab.export import export_hf, hf_encode, load_hf_tokenizer
from vocab.model import Vocab, proto_fields
from vocab.seeds import (
    NEWLINE_STANDIN,
    MAX_SENTENCE_FIELD,
    SEED_FILE_FIELD,
    SEED_SIZE_FIELD,
    deal,
    merge_counts,
    rename_pieces,
    restore_spec,
)
from vocab.train import is_held_out, train_vocab

CHUNK = 100_000  # the fixture's sample (about 300,000 characters) makes 3 seeding chunks


def test_deal_round_robin_covers_every_sentence() -> None:
    groups = deal(["a" * 10] * 7, 25)
    assert groups == [[0, 3, 6], [1, 4], [2, 5]]
    assert deal(["abc"], 10) == [[0]]


def test_merge_sums_counts_and_ranks_by_coverage() -> None:
    t1 = pa.table({"piece": ["ab", "xyz", "q\n"], "count": [10, 4, 1]})
    t2 = pa.table({"piece": ["ab", "xyz"], "count": [1, 4]})
    merged = merge_counts([t1, t2])
    # ab: 11 x 2 = 22; xyz: 8 x 3 = 24; q\n: 1 x 2 = 2
    assert merged.column("piece").to_pylist() == ["xyz", "ab", "q\n"]
    assert merged.column("count").to_pylist() == [8, 11, 1]
    assert merge_counts([t1, t2], limit=1).column("piece").to_pylist() == ["xyz"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, small_store: Path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("seeded")
    return out, train_vocab(make_recipe(seed_chunk_chars=CHUNK), str(out), str(small_store))


@pytest.fixture(scope="module")
def seeded_vocab(seeded: tuple[Path, dict]) -> Vocab:
    return Vocab.load(seeded[0] / "vocab")


def test_seeding_is_recorded_and_the_model_is_clean(seeded: tuple[Path, dict], seeded_vocab: Vocab) -> None:
    _, manifest = seeded
    chars = manifest["sample"]["chars"]
    assert manifest["seeding"]["chunks"] == -(-chars // CHUNK) >= 3
    assert sum(manifest["seeding"]["chunk_chars"]) == manifest["sample"]["chars"]
    assert manifest["seeding"]["pieces"] > 1000
    pieces = [seeded_vocab.id_to_piece(i) for i in range(seeded_vocab.size)]
    assert not any(NEWLINE_STANDIN in p for p in pieces)
    assert "\n" in pieces and any(len(p) > 1 and "\n" in p for p in pieces)  # newline pieces learned
    spec = proto_fields(proto_fields(seeded_vocab.serialized_model)[2][-1])
    assert SEED_FILE_FIELD not in spec and SEED_SIZE_FIELD not in spec  # no temporary path in the model file
    assert spec[MAX_SENTENCE_FIELD] == [65_536]  # as configured, not the seeded runs' allowance
    assert seeded_vocab.size == 800


def test_seeded_model_is_byte_identical_across_runs(
    seeded: tuple[Path, dict], small_store: Path, tmp_path: Path
) -> None:
    again = train_vocab(make_recipe(seed_chunk_chars=CHUNK), str(tmp_path), str(small_store))
    assert (tmp_path / "vocab" / "spm.model").read_bytes() == (seeded[0] / "vocab" / "spm.model").read_bytes()
    assert again["model_sha256"] == seeded[1]["model_sha256"]


def test_seeded_round_trip_and_hf_ids(seeded: tuple[Path, dict], seeded_vocab: Vocab) -> None:
    tok = load_hf_tokenizer(export_hf(str(seeded[0] / "vocab")))
    texts = CASES + _long_texts()
    ours = seeded_vocab.encode(texts)
    assert [seeded_vocab.decode(ids) for ids in ours] == texts
    assert hf_encode(tok, texts) == ours
    for digit in "0123456789":
        assert seeded_vocab.encode([f"x{digit * 5}y"])[0].count(seeded_vocab.piece_to_id(digit)) == 5


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_seeded_round_trip_property(seeded_vocab: Vocab, text: str) -> None:
    assert seeded_vocab.decode(seeded_vocab.encode([text])[0]) == text


def test_seeded_compression_matches_plain_seeding(
    seeded_vocab: Vocab, small_vocab: Vocab, small_store: Path
) -> None:
    # Same sample and size, seeds from 3 chunks against SentencePiece's whole-sample suffix array:
    # no worse than 2% in bytes per token (measured here: 2.21 chunked against 2.14 plain).
    held = [d.text for d in iter_documents(str(small_store)) if is_held_out(7, d.id, 0.02)]
    assert held
    size = sum(len(t.encode("utf-8")) for t in held)
    plain = size / sum(len(ids) for ids in small_vocab.encode(held))
    chunked = size / sum(len(ids) for ids in seeded_vocab.encode(held))
    assert chunked >= 0.98 * plain, (plain, chunked)


def test_rename_and_strip_touch_only_their_fields(seeded_vocab: Vocab) -> None:
    proto = seeded_vocab.serialized_model
    assert restore_spec(proto, 65_536) == proto
    assert rename_pieces(proto, NEWLINE_STANDIN, "\n") == proto
    renamed = Vocab.from_bytes(rename_pieces(proto, "\n", NEWLINE_STANDIN))
    assert renamed.piece_to_id(NEWLINE_STANDIN) == seeded_vocab.piece_to_id("\n")


def test_seed_chunk_chars_is_validated() -> None:
    with pytest.raises(RecipeError):
        make_recipe(seed_chunk_chars=10)


def test_a_failing_seeding_process_is_a_stage_error(tmp_path: Path) -> None:
    from dataprep.errors import StageError
    from dataprep.vocab_config import VocabConfig
    from vocab.seeds import write_seed_file
    from vocab.train import trainer_options

    options = {**trainer_options(VocabConfig(size=800)), "character_coverage": 5.0}  # SentencePiece refuses it
    with pytest.raises(StageError, match="seeding chunk 1/1 failed"):
        write_seed_file(["some text\n"] * 10, options, 1_000_000, str(tmp_path / "seeds.tsv"))


def test_too_large_a_size_names_the_whole_sample_alternative(small_store: Path, tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as info:
        train_vocab(make_recipe(size=50_000, seed_chunk_chars=CHUNK), str(tmp_path), str(small_store))
    assert info.value.key == "vocab.size" and "at most" in str(info.value)
    assert "seed_chunk_chars above vocab.sample_chars" in str(info.value)
