"""Recipe section ``shards``: defaults and validation."""

from __future__ import annotations

import pytest

from dataprep.configs import from_mapping
from dataprep.errors import RecipeError
from dataprep.shards.config import ShardsConfig


def test_defaults_follow_palm_and_megatron() -> None:
    c = from_mapping(ShardsConfig, None, "shards")
    assert c.sequence_length == 2048 and c.budget is None and c.formats == ("parquet", "megatron")
    assert c.validation_fraction == 0.03 and c.last_sequence == "pad" and not c.segment_ids


def test_a_token_budget() -> None:
    c = from_mapping(ShardsConfig, {"total_tokens": 1000, "formats": ["megatron"]}, "shards")
    assert c.budget == 1000 and c.formats == ("megatron",)


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"total_tokens": "max"}, "shards.total_tokens"),
        ({"total_tokens": 0}, "shards.total_tokens"),
        ({"sequence_length": 1}, "shards.sequence_length"),
        ({"formats": ["arrow"]}, "shards.formats[0]"),
        ({"formats": []}, "shards.formats"),
        ({"formats": ["parquet", "parquet"]}, "shards.formats"),
        ({"shard_tokens": 10}, "shards.shard_tokens"),
        ({"shard_tokens": 2**31}, "shards.shard_tokens"),
        ({"validation_fraction": 1.0}, "shards.validation_fraction"),
        ({"last_sequence": "drop"}, "shards.last_sequence"),
        ({"sequence_lenght": 4}, "shards.sequence_lenght"),
    ],
)
def test_mistakes_name_the_key(raw, key) -> None:
    with pytest.raises(RecipeError) as e:
        from_mapping(ShardsConfig, raw, "shards")
    assert e.value.key == key


def test_misspelt_key_suggests_the_right_one() -> None:
    with pytest.raises(RecipeError, match="did you mean 'sequence_length'"):
        from_mapping(ShardsConfig, {"sequence_lenght": 4}, "shards")
