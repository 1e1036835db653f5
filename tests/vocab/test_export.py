"""The Hugging Face export gives SentencePiece's exact ids and round trip."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from dataprep.errors import FormatError
from tests.vocab.conftest import make_text
from tests.vocab.test_model import CASES, TEXT
from vocab.export import export_hf, hf_encode, load_hf_tokenizer
from vocab.model import Vocab


@pytest.fixture(scope="module")
def exported(trained: tuple[Path, dict]) -> str:
    return export_hf(str(trained[0] / "vocab"))


def _long_texts() -> list[str]:
    rng = random.Random(3)
    docs = ["\n\n".join(make_text(rng, kind) for _ in range(40)) for kind in ("prose", "code")]
    return docs + ["a" * 9000, "\u4e2d" * 5000 + "  x", " " * 5000 + "y", "ab \u2581 " * 2000, "\n\n\n" * 3000]


def test_same_ids_and_round_trip(small_vocab: Vocab, exported: str) -> None:
    tok = load_hf_tokenizer(exported)
    texts = CASES + _long_texts()
    ours = small_vocab.encode(texts)
    assert hf_encode(tok, texts) == ours
    assert [tok.decode(ids) for ids in ours] == texts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_same_ids_property(small_vocab: Vocab, exported: str, text: str) -> None:
    tok = load_hf_tokenizer(exported)
    ids = small_vocab.encode([text])[0]
    assert tok.encode(text, add_special_tokens=False).ids == ids
    assert tok.decode(ids) == text


def test_special_token_text_stays_text(small_vocab: Vocab, exported: str) -> None:
    tok = load_hf_tokenizer(exported)
    ids = tok.encode("<extra_id_0></s><pad><0x41>[NLU]", add_special_tokens=False).ids
    controls = {small_vocab.eos_id, small_vocab.pad_id, small_vocab.piece_to_id("<extra_id_0>")}
    assert not controls & set(ids)
    assert not any(small_vocab.is_byte(i) for i in ids)
    assert tok.token_to_id("<extra_id_0>") == small_vocab.piece_to_id("<extra_id_0>")


def test_transformers_loads_the_export(small_vocab: Vocab, exported: str) -> None:
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(exported)
    texts = CASES + _long_texts()[:2]
    ids = [tok.encode(t, add_special_tokens=False) for t in texts]
    assert ids == small_vocab.encode(texts)
    assert [tok.decode(i) for i in ids] == texts
    assert (tok.eos_token_id, tok.pad_token_id, tok.unk_token_id) == (1, 0, 2)
    assert tok.convert_tokens_to_ids("<extra_id_2>") == small_vocab.piece_to_id("<extra_id_2>")


def test_missing_export_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="dataprep vocab export"):
        load_hf_tokenizer(str(tmp_path))


@pytest.fixture(scope="module")
def bpe_export(tmp_path_factory: pytest.TempPathFactory, small_store: Path) -> tuple[Vocab, str]:
    from tests.vocab.conftest import make_recipe
    from vocab.train import train_vocab

    out = tmp_path_factory.mktemp("bpe")
    train_vocab(make_recipe(model_type="bpe"), str(out), str(small_store))
    return Vocab.load(out / "vocab"), export_hf(str(out / "vocab"))


def test_bpe_export_same_ids(bpe_export: tuple[Vocab, str]) -> None:
    vocab, folder = bpe_export
    tok = load_hf_tokenizer(folder)
    texts = CASES + _long_texts()
    ours = vocab.encode(texts)
    assert vocab.model_type == "bpe"
    assert hf_encode(tok, texts) == ours
    assert [tok.decode(ids) for ids in ours] == texts


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_bpe_export_same_ids_property(bpe_export: tuple[Vocab, str], text: str) -> None:
    vocab, folder = bpe_export
    tok = load_hf_tokenizer(folder)
    ids = vocab.encode([text])[0]
    assert tok.encode(text, add_special_tokens=False).ids == ids
    assert tok.decode(ids) == text
