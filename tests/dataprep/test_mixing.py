"""Mixture rates and hash sampling (pure, no Beam)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataprep.errors import StageError
from dataprep.mixing import (
    COPY,
    SourceUnits,
    base_hash,
    bucket_histogram,
    bucket_members,
    copy_counts,
    crossing_bucket,
    derive,
    derive_array,
    epochs,
    finish_source,
    is_validation,
    make_plan,
    mixture_rates,
    normalised_weights,
    piece_base,
    plan_mixture,
    realised_shares,
    source_targets,
    resolve_budget,
    shard_count,
    shard_of,
    shuffle_key,
    split_tokens,
    validation_mask,
)

PALM = {"conversations": 0.50, "web": 0.27, "books": 0.13, "code": 0.05, "wiki": 0.04, "news": 0.01}


def source_arrays(name: str, n: int, seed: int = 0, low: int = 20, high: int = 400, vf: float = 0.0) -> SourceUnits:
    rng = np.random.default_rng(zlib.crc32(name.encode()) + seed)
    bases = np.array([base_hash(seed, f"{name}/f#{i}") for i in range(n)], dtype=np.uint64)
    return SourceUnits(bases, rng.integers(low, high, n).astype(np.int64), validation_mask(bases, vf))


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**40))
def test_derive_scalar_equals_vectorised(base: int, salt: int) -> None:
    assert int(derive_array(np.array([base], dtype=np.uint64), salt)[0]) == derive(base, salt)


def test_base_hash_depends_on_seed_and_id() -> None:
    assert base_hash(1, "a") == base_hash(1, "a")
    assert base_hash(1, "a") != base_hash(2, "a")
    assert base_hash(1, "a") != base_hash(1, "b")


def test_rates_are_weight_times_total_over_available() -> None:
    rates = mixture_rates({"a": 3, "b": 1}, {"a": 1000, "b": 100}, 2000)
    assert rates == pytest.approx({"a": 0.75 * 2000 / 1000, "b": 0.25 * 2000 / 100})
    assert normalised_weights({"a": 3, "b": 1}) == {"a": 0.75, "b": 0.25}


def test_max_without_repeat_uses_the_scarcest_source_exactly_once() -> None:
    available = {"a": 1000, "b": 100}
    total = resolve_budget({"a": 0.5, "b": 0.5}, available, None)
    assert total == 200
    rates = mixture_rates({"a": 0.5, "b": 0.5}, available, total)
    assert rates == {"a": 0.1, "b": 1.0}


def test_a_weighted_source_without_tokens_is_an_error_naming_it() -> None:
    with pytest.raises(StageError, match="'news'"):
        resolve_budget({"web": 1.0, "news": 0.1}, {"web": 100, "news": 0}, 1000)


def exhaustive_cut(keys: np.ndarray, tokens: np.ndarray, target: float) -> set[int]:
    """Reference: sort every key, cut where the running total is closest to target."""
    if target <= 0:
        return set()
    order = np.lexsort((tokens, keys))
    cum = np.concatenate([[0], np.cumsum(tokens[order])])
    m = int(np.argmin(np.abs(cum - target)))
    return set(order[:m].tolist())


def single(units: SourceUnits, total: int):
    return plan_mixture({"s": 1.0}, {"s": units}, total)[1]["s"]


@pytest.mark.parametrize("rate", [0.0001, 0.27, 0.5, 0.999, 1.0, 2.5, 3.0])
def test_bucketed_cut_equals_sorting_every_key(rate: float) -> None:
    units = source_arrays("web", 5000, low=1, high=900)
    total = int(units.tokens.sum() * rate)
    plan = single(units, total)
    keys = derive_array(units.bases, COPY + plan.full_epochs)
    expected = exhaustive_cut(keys, units.tokens, plan.target_tokens - plan.full_epochs * plan.available_tokens)
    got = set(np.flatnonzero(copy_counts(plan, units.bases) > plan.full_epochs).tolist())
    assert got == expected
    assert plan.planned_tokens == plan.full_epochs * plan.available_tokens + int(units.tokens[list(got)].sum())
    assert abs(plan.planned_tokens - rate * units.tokens.sum()) <= units.tokens.max() / 2 + 1


def test_bucket_steps_over_batches_equal_the_whole() -> None:
    units = source_arrays("web", 3000)
    total = int(units.tokens.sum() * 0.4)
    whole = single(units, total)
    _, targets = source_targets({"s": 1.0}, {"s": (len(units.bases), int(units.tokens.sum()))}, total)
    t = targets["s"]
    chunks = [SourceUnits(*(c[i : i + 700] for c in units)) for i in range(0, 3000, 700)]
    hist = sum(bucket_histogram(t, c) for c in chunks)
    bucket, before = crossing_bucket(hist, t.remainder)
    members = [bucket_members(t, bucket, c) for c in chunks]
    keys = np.concatenate([m[0] for m in members])
    tokens = np.concatenate([m[1] for m in members])
    assert finish_source(t, bucket, before, keys, tokens) == whole
    assert 0 < len(keys) < 10  # only the crossing bucket's pieces are ever collected


def test_plan_for_a_repeated_source_counts_full_and_fractional_epochs() -> None:
    bases, tokens, _ = units = source_arrays("news", 300)
    available = int(tokens.sum())
    plan = single(units, int(available * 2.5))
    assert plan.full_epochs == 2
    assert plan.rate == pytest.approx(2.5)
    copies = copy_counts(plan, bases)
    assert set(copies.tolist()) == {2, 3}
    realised = int((copies * tokens).sum())
    assert realised == plan.planned_tokens
    assert abs(realised - 2.5 * available) <= tokens.max()
    # Scalar and vectorised decisions agree.
    assert [plan.copies(int(b)) for b in bases[:50]] == copies[:50].tolist()


def test_plan_for_a_downsampled_source_keeps_the_right_token_count() -> None:
    bases, tokens, _ = units = source_arrays("web", 2000)
    plan = single(units, int(0.27 * tokens.sum()))  # rate 0.27
    copies = copy_counts(plan, bases)
    assert plan.full_epochs == 0 and set(copies.tolist()) == {0, 1}
    assert abs(int((copies * tokens).sum()) - 0.27 * tokens.sum()) <= tokens.max()


def test_plan_is_independent_of_input_order() -> None:
    arrays = {s: source_arrays(s, 200) for s in PALM}
    shuffled = {}
    rng = np.random.default_rng(1)
    for s, (b, t, v) in arrays.items():
        perm = rng.permutation(len(b))
        shuffled[s] = SourceUnits(b[perm], t[perm], v[perm])
    a = make_plan(PALM, arrays, 50_000, 0.03, 10_000)
    b = make_plan(PALM, shuffled, 50_000, 0.03, 10_000)
    assert a == b


def test_palm_mixture_realises_the_weights() -> None:
    arrays = {s: source_arrays(s, 3000 if s != "news" else 30) for s in PALM}
    plan = make_plan(PALM, arrays, 2_000_000, 0.0, 1_000_000)
    realised = {s: int((copy_counts(p, arrays[s][0]) * arrays[s][1]).sum()) for s, p in plan.sources.items()}
    shares = realised_shares(realised)
    for s, w in PALM.items():
        assert abs(shares[s] - w) < 0.001, s
    news = plan.sources["news"]
    assert news.full_epochs >= 1
    assert epochs(realised["news"], news.available_tokens) == pytest.approx(news.rate, rel=0.01)


def test_split_tokens_partitions_the_plan() -> None:
    arrays = {s: source_arrays(s, 500, vf=0.1) for s in ("a", "b")}
    plan = make_plan({"a": 0.7, "b": 0.3}, arrays, 100_000, 0.1, 10_000)
    planned = split_tokens(plan.sources, arrays)
    assert planned == plan.planned
    total = sum(t for t, _ in planned.values())
    assert total == sum(p.planned_tokens for p in plan.sources.values())
    assert 0.05 < planned["validation"][0] / total < 0.15
    assert plan.shards["train"] == pytest.approx(planned["train"][0] / 10_000, abs=1)


def test_validation_is_a_stable_fraction_of_documents() -> None:
    bases = np.array([base_hash(3, f"d{i}") for i in range(20000)], dtype=np.uint64)
    mask = validation_mask(bases, 0.05)
    assert 0.04 < mask.mean() < 0.06
    assert [is_validation(int(b), 0.05) for b in bases[:200]] == mask[:200].tolist()
    assert not validation_mask(bases, 0.0).any()


def test_piece_zero_keeps_the_document_hash_and_others_differ() -> None:
    b = base_hash(0, "books/kjv.txt#0")
    assert piece_base(b, 0) == b
    assert len({piece_base(b, p) for p in range(100)}) == 100


def test_shards_and_shuffle_keys() -> None:
    keys = [shuffle_key(base_hash(0, f"d{i}"), k) for i in range(4000) for k in range(2)]
    shards = [shard_of(k, 7) for k in keys]
    assert set(shards) == set(range(7))
    counts = np.bincount(shards)
    assert counts.min() > 0.8 * counts.mean()
    assert shuffle_key(5, 0) != shuffle_key(5, 1)
    assert shard_count(0, 100, 0) == 0
    assert shard_count(1000, 100, 3) == 3
    assert shard_count(1000, 100, 50) == 10
    assert shard_count(10, 100, 50) == 1
