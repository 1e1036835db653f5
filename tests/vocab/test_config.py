"""The recipe's ``vocab`` section: defaults, lossy options refused with the reason."""

from __future__ import annotations

import pytest

from dataprep.configs import from_mapping
from dataprep.errors import RecipeError
from dataprep.vocab_config import LOSSLESS, VocabConfig


def test_defaults_are_palm_like() -> None:
    cfg = VocabConfig()
    assert cfg.size == 256_000 and cfg.model_type == "unigram"
    assert cfg.sample_chars == 100_000_000 and cfg.seed_chunk_chars == 25_000_000
    assert (cfg.pad_id, cfg.eos_id, cfg.unk_id) == (0, 1, 2)
    assert cfg.control_symbols()[:2] == ("<extra_id_0>", "<extra_id_1>")
    assert cfg.control_symbols()[-3:] == ("[NLU]", "[NLG]", "[S2S]")
    assert len(cfg.control_symbols()) == 103


@pytest.mark.parametrize(
    ("key", "lossy"),
    [
        ("normalization_rule_name", "nmt_nfkc"),
        ("remove_extra_whitespaces", True),
        ("add_dummy_prefix", True),
        ("byte_fallback", False),
        ("split_digits", False),
        ("allow_whitespace_only_pieces", False),
    ],
)
def test_lossy_options_are_refused_with_the_reason(key: str, lossy: object) -> None:
    with pytest.raises(RecipeError) as info:
        from_mapping(VocabConfig, {key: lossy}, "vocab")
    assert info.value.key == f"vocab.{key}"
    assert LOSSLESS[key][1] in str(info.value)


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"size": 100}, "vocab.size"),
        ({"model_type": "wordpiece"}, "vocab.model_type"),
        ({"pad_id": 1}, "vocab.pad_id/eos_id/unk_id/bos_id"),
        ({"unk_id": -1}, "vocab.unk_id"),
        ({"reserved_symbols": ["[A]", "[A]"]}, "vocab.reserved_symbols"),
        ({"reserved_symbols": ["a,b"]}, "vocab.reserved_symbols"),
        ({"holdout": 0.7}, "vocab.holdout"),
        ({"sizee": 10}, "vocab.sizee"),
    ],
)
def test_invalid_values(mapping: dict, key: str) -> None:
    with pytest.raises(RecipeError) as info:
        from_mapping(VocabConfig, mapping, "vocab")
    assert info.value.key == key


def test_bos_can_be_disabled() -> None:
    cfg = from_mapping(VocabConfig, {"bos_id": -1, "sentinels": 0, "reserved_symbols": [], "size": 300}, "vocab")
    assert cfg.bos_id == -1 and cfg.control_symbols() == ()
