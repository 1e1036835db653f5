"""Mixture arithmetic and hash sampling: how many copies of each document go into training.

A source's ``weight`` is its share of training tokens (PaLM Table 2: conversations 50%, web 27%,
books 13%, code 5%, Wikipedia 4%, news 1%). With ``A_s`` tokens available in source ``s``, weight
share ``w_s`` (weights normalised to sum 1) and a total budget ``T``, the source's sampling rate is

    rate_s = w_s * T / A_s

below 1 the source is down-sampled, above 1 repeated (``rate_s`` epochs). When the recipe asks
for the largest budget without repeating, ``T = min_s A_s / w_s``: the scarcest source per unit
of weight is used exactly once and every other one is down-sampled.

The unit of sampling is a *piece*: a document, or a part of a long one (see
``ShardsConfig.max_piece_chars``), so a source made of a few huge books can still be sampled to
its share. Every decision is a function of hashes, never of order or worker: a document's
``base`` hash is xxh64 of its id seeded with the recipe seed; piece ``p`` of it has base
``derive(base, PIECE + p)`` (piece 0 keeps the document's); everything derives from
``(base, salt)`` through splitmix64, vectorised in numpy where it runs over many pieces:

- split: validation iff ``unit(derive(document base, SPLIT)) < validation_fraction`` (per
  document, so every piece and repeat of a document shares a split and validation never
  leaks into training);
- copies: a source with rate ``r`` keeps ``F = floor(r)`` full copies of every document
  (repeat indices ``0..F-1``), and copy ``F`` of the documents whose key
  ``derive(base, COPY + F)`` is below the source's threshold. The threshold is placed, in key
  order, where the fractional epoch holds as close as possible to ``(r - F) * A_s`` tokens
  (exact to one piece, not only in expectation); a histogram over key buckets finds the one
  bucket to sort, so no step holds every key;
- order: copy ``k`` sorts by ``derive(base, SHUFFLE + k)``; its high bits also pick its shard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, NamedTuple, Sequence

import numpy as np
import xxhash

from dataprep.errors import StageError

MASK64 = (1 << 64) - 1
TWO64 = 1 << 64
# Salts: the top 32 bits name the purpose, the low 32 bits carry a repeat index.
SPLIT = 1 << 32
COPY = 2 << 32
SHUFFLE = 3 << 32
PIECE = 4 << 32
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_SALT_MUL = 0xD6E8FEB86659FD93


def base_hash(seed: int, doc_id: str) -> int:
    """The 64-bit hash every random decision about a document derives from.

    >>> base_hash(0, "web/a.warc.gz#3") == base_hash(0, "web/a.warc.gz#3")
    True
    """
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=seed & MASK64)


def _splitmix(x: int) -> int:
    x = (x + _GOLDEN) & MASK64
    x = ((x ^ (x >> 30)) * _M1) & MASK64
    x = ((x ^ (x >> 27)) * _M2) & MASK64
    return x ^ (x >> 31)


def derive(base: int, salt: int) -> int:
    """A 64-bit hash of ``(base, salt)`` (splitmix64 finaliser); equals `derive_array` elementwise."""
    return _splitmix(base ^ ((salt * _SALT_MUL) & MASK64))


def derive_array(base: np.ndarray, salt: int | np.ndarray) -> np.ndarray:
    """`derive` over a uint64 array (``salt`` one integer or an array of them), without a
    Python loop."""
    with np.errstate(over="ignore"):
        if isinstance(salt, np.ndarray):
            mixed_salt = salt.astype(np.uint64) * np.uint64(_SALT_MUL)  # wraps mod 2**64, as derive
        else:
            mixed_salt = np.uint64((salt * _SALT_MUL) & MASK64)
        x = base.astype(np.uint64) ^ mixed_salt
        x = x + np.uint64(_GOLDEN)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(_M1)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(_M2)
        return x ^ (x >> np.uint64(31))


def piece_base(base: int, piece: int) -> int:
    """Base hash of piece ``piece`` of a document whose base hash is ``base``."""
    return base if piece == 0 else derive(base, PIECE + piece)


class SourceUnits(NamedTuple):
    """The pieces of one source, as parallel arrays: base hashes (uint64), tokens (int64,
    end-of-document included) and whether each belongs to the validation split (bool)."""

    bases: np.ndarray
    tokens: np.ndarray
    validation: np.ndarray

    @classmethod
    def empty(cls) -> "SourceUnits":
        return cls(np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, bool))


def unit(h: int) -> float:
    """A 64-bit hash as a float in [0, 1)."""
    return (h >> 11) * (1.0 / (1 << 53))


def is_validation(base: int, validation_fraction: float) -> bool:
    """True when the document with this base hash belongs to the validation split."""
    return unit(derive(base, SPLIT)) < validation_fraction


def validation_mask(bases: np.ndarray, validation_fraction: float) -> np.ndarray:
    """`is_validation` over an array of base hashes."""
    keys = derive_array(bases, SPLIT) >> np.uint64(11)
    return keys.astype(np.float64) * (1.0 / (1 << 53)) < validation_fraction


def normalised_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights scaled to sum to 1: ``{"a": 3, "b": 1}`` -> ``{"a": 0.75, "b": 0.25}``."""
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def resolve_budget(weights: Mapping[str, float], available: Mapping[str, int], total_tokens: int | None) -> int:
    """The total token budget: ``total_tokens`` or, when None, the largest without repeats.

    ``resolve_budget({"a": 0.5, "b": 0.5}, {"a": 100, "b": 40}, None)`` -> 80: source ``b``
    limits the mixture (40 tokens for half of it). Raises `StageError` naming a weighted source
    with no tokens, since no budget can give it its share.
    """
    for name, w in weights.items():
        if w > 0 and available.get(name, 0) <= 0:
            raise StageError(
                f"source '{name}' has weight {w} but no tokens in the document store: "
                "check that the build kept documents for it, or remove it from the recipe"
            )
    if total_tokens is not None:
        return int(total_tokens)
    shares = normalised_weights(weights)
    return int(math.floor(min(available[s] / shares[s] for s in shares)))


def mixture_rates(weights: Mapping[str, float], available: Mapping[str, int], total: int) -> dict[str, float]:
    """Sampling rate per source: ``share * total / available`` (epochs when above 1).

    >>> mixture_rates({"a": 0.5, "b": 0.5}, {"a": 100, "b": 40}, 80)
    {'a': 0.4, 'b': 1.0}
    """
    shares = normalised_weights(weights)
    return {s: shares[s] * total / available[s] for s in shares}


@dataclass(frozen=True)
class SourcePlan:
    """How one source is sampled.

    ``full_epochs`` copies of every document, plus copy number ``full_epochs`` of the documents
    whose copy key is below ``threshold`` (an integer in [0, 2**64]; 0 = none, 2**64 = all).
    """

    source: str
    weight: float
    target_share: float
    pieces: int
    available_tokens: int
    target_tokens: float
    rate: float
    full_epochs: int
    threshold: int
    planned_tokens: int

    def copies(self, base: int) -> int:
        """Number of copies of the document with this base hash (repeat indices 0..n-1)."""
        extra = 1 if derive(base, COPY + self.full_epochs) < self.threshold else 0
        return self.full_epochs + extra


# The fractional-epoch cut is found in two steps so that no worker ever holds every piece: a
# histogram of tokens over the top BUCKET_BITS bits of the copy keys (one fixed-size array per
# source) finds the bucket where the running total crosses the target; only that bucket's
# pieces (about 1/65,536 of the source) are then collected and sorted to place the cut exactly.
BUCKET_BITS = 16
N_BUCKETS = 1 << BUCKET_BITS
_BUCKET_SHIFT = 64 - BUCKET_BITS


class SourceTarget(NamedTuple):
    """What a source's token total decides: its share, rate, full epochs and the tokens its
    fractional epoch must hold (``remainder``)."""

    source: str
    weight: float
    target_share: float
    pieces: int
    available_tokens: int
    target_tokens: float
    rate: float
    full_epochs: int
    remainder: float


def source_targets(
    weights: Mapping[str, float], totals: Mapping[str, tuple[int, int]], total_tokens: int | None
) -> tuple[int, dict[str, SourceTarget]]:
    """The budget and each source's `SourceTarget`, from ``totals`` = source -> (pieces, tokens)."""
    available = {s: int(totals.get(s, (0, 0))[1]) for s in weights}
    total = resolve_budget(weights, available, total_tokens)
    shares = normalised_weights(weights)
    out = {}
    for s in weights:
        a = available[s]
        target = shares[s] * total
        rate = target / a if a else 0.0
        full = int(math.floor(rate))
        out[s] = SourceTarget(s, weights[s], shares[s], int(totals.get(s, (0, 0))[0]), a, target, rate, full, target - full * a)
    return total, out


def copy_keys(target: SourceTarget, bases: np.ndarray) -> np.ndarray:
    """The keys that decide the fractional copy (repeat index ``full_epochs``) of each piece."""
    return derive_array(bases, COPY + target.full_epochs)


def bucket_histogram(target: SourceTarget, units: SourceUnits) -> np.ndarray:
    """Tokens per copy-key bucket (``N_BUCKETS`` int64 counts) of some of a source's pieces;
    histograms of disjoint pieces add up."""
    buckets = (copy_keys(target, units.bases) >> np.uint64(_BUCKET_SHIFT)).astype(np.int64)
    return np.bincount(buckets, weights=units.tokens.astype(np.float64), minlength=N_BUCKETS).astype(np.int64)


def crossing_bucket(histogram: np.ndarray, remainder: float) -> tuple[int, int]:
    """The bucket in which the running token total first reaches ``remainder``, and the tokens
    in the buckets before it. ``(-1, 0)`` when nothing is needed, ``(N_BUCKETS, total)`` when
    everything is."""
    if remainder <= 0:
        return -1, 0
    cum = np.cumsum(histogram)
    b = int(np.searchsorted(cum, remainder, side="left"))
    if b >= len(cum):
        return N_BUCKETS, int(cum[-1]) if len(cum) else 0
    return b, int(cum[b] - histogram[b])


def bucket_members(target: SourceTarget, bucket: int, units: SourceUnits) -> tuple[np.ndarray, np.ndarray]:
    """(copy keys, tokens) of the pieces whose copy key falls in ``bucket``."""
    keys = copy_keys(target, units.bases)
    mask = (keys >> np.uint64(_BUCKET_SHIFT)) == np.uint64(bucket) if 0 <= bucket < N_BUCKETS else np.zeros(len(keys), bool)
    return keys[mask], units.tokens[mask].astype(np.int64)


def finish_source(target: SourceTarget, bucket: int, before: int, keys: np.ndarray, tokens: np.ndarray) -> SourcePlan:
    """The source's plan: the cut placed among its crossing bucket's pieces (taken in key order)
    before or after the piece that crosses the target, whichever lands closer (ties: fewer
    tokens). Exact to one piece, and equal to sorting every key of the source."""
    full, available = target.full_epochs, target.available_tokens
    if bucket < 0:
        threshold, extra = 0, 0
    elif bucket >= N_BUCKETS:
        threshold, extra = TWO64, available
    else:
        order = np.lexsort((tokens, keys))
        cum = before + np.concatenate([[0], np.cumsum(tokens[order], dtype=np.int64)])
        m = int(np.argmin(np.abs(cum - target.remainder)))  # first minimum: ties prefer fewer tokens
        threshold = int(keys[order][m]) if m < len(keys) else (bucket + 1) << _BUCKET_SHIFT
        extra = int(cum[m])
    return SourcePlan(
        source=target.source,
        weight=target.weight,
        target_share=target.target_share,
        pieces=target.pieces,
        available_tokens=available,
        target_tokens=target.target_tokens,
        rate=target.rate,
        full_epochs=full,
        threshold=threshold,
        planned_tokens=full * available + extra,
    )


def copy_counts(plan: SourcePlan, bases: np.ndarray) -> np.ndarray:
    """`SourcePlan.copies` over an array of base hashes."""
    if plan.threshold >= TWO64:
        extra = np.ones(len(bases), dtype=np.int64)
    else:
        extra = (derive_array(bases, COPY + plan.full_epochs) < np.uint64(plan.threshold)).astype(np.int64)
    return plan.full_epochs + extra


def plan_mixture(
    weights: Mapping[str, float],
    arrays: Mapping[str, SourceUnits],
    total_tokens: int | None,
) -> tuple[int, dict[str, SourcePlan]]:
    """The resolved budget and a plan for every weighted source, from all of each source's
    pieces at once (the Beam stage runs the same steps over batches: `source_targets`,
    `bucket_histogram`, `crossing_bucket`, `bucket_members`, `finish_source`).

    Args:
        weights: source -> recipe weight.
        arrays: source -> its `SourceUnits`.
        total_tokens: the budget, or None for the largest budget without repeats.
    Returns:
        (total budget, source -> `SourcePlan` in the order of ``weights``).
    """
    empty = SourceUnits.empty()
    totals = {s: (len(arrays.get(s, empty).bases), int(arrays.get(s, empty).tokens.sum(dtype=np.int64))) for s in weights}
    total, targets = source_targets(weights, totals, total_tokens)
    plans = {}
    for s, t in targets.items():
        units = arrays.get(s, empty)
        bucket, before = crossing_bucket(bucket_histogram(t, units), t.remainder)
        keys, tokens = bucket_members(t, bucket, units)
        plans[s] = finish_source(t, bucket, before, keys, tokens)
    return total, plans


def shuffle_key(base: int, copy: int) -> int:
    """Position key of repeat ``copy`` of a document in the global shuffle."""
    return derive(base, SHUFFLE + copy)


def shard_of(key: int, num_shards: int) -> int:
    """Shard index from the high 32 bits of a shuffle key (multiply-shift: no modulo bias for
    fewer than 2**32 shards); equals `shard_array` elementwise."""
    return ((key >> 32) * num_shards) >> 32


def shard_array(keys: np.ndarray, num_shards: int) -> np.ndarray:
    """`shard_of` over a uint64 array."""
    return ((keys >> np.uint64(32)) * np.uint64(num_shards)) >> np.uint64(32)


def expand_copies(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-piece copy counts, the piece index and repeat index of every copy.

    >>> [a.tolist() for a in expand_copies(np.array([2, 0, 1]))]
    [[0, 0, 2], [0, 1, 0]]
    """
    counts = counts.astype(np.int64)
    rep = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    k = np.arange(len(rep), dtype=np.int64) - np.repeat(first, counts)
    return rep, k


def shard_count(tokens: int, shard_tokens: int, copies: int) -> int:
    """Shards for a split of ``tokens`` tokens in ``copies`` document copies: enough for
    ``shard_tokens`` each, never more than the copies (so few shards are empty), 0 when empty."""
    if copies <= 0:
        return 0
    return max(1, min(math.ceil(tokens / shard_tokens), copies))


def realised_shares(tokens: Mapping[str, int]) -> dict[str, float]:
    """Each source's share of the tokens actually written."""
    total = sum(tokens.values())
    return {s: (t / total if total else 0.0) for s, t in tokens.items()}


def epochs(realised: int, available: int) -> float:
    """How many times over a source's tokens were used."""
    return realised / available if available else 0.0


def split_sums(plan: SourcePlan, units: SourceUnits) -> np.ndarray:
    """Planned [train tokens, train copies, validation tokens, validation copies] of some of a
    source's pieces; sums over disjoint pieces add up."""
    if not len(units.bases):
        return np.zeros(4, np.int64)
    n = copy_counts(plan, units.bases)
    val = units.validation
    t = units.tokens.astype(np.int64)
    return np.array([(n[~val] * t[~val]).sum(), n[~val].sum(), (n[val] * t[val]).sum(), n[val].sum()], dtype=np.int64)


def split_tokens(plans: Mapping[str, SourcePlan], arrays: Mapping[str, SourceUnits]) -> dict[str, tuple[int, int]]:
    """Planned (tokens, piece copies) per split, ``{"train": (t, c), "validation": (t, c)}``."""
    sums = sum((split_sums(p, arrays.get(s, SourceUnits.empty())) for s, p in plans.items()), np.zeros(4, np.int64))
    return split_dict(sums)


def split_dict(sums: np.ndarray) -> dict[str, tuple[int, int]]:
    """`split_sums` totals as ``{"train": (tokens, copies), "validation": (tokens, copies)}``."""
    return {"train": (int(sums[0]), int(sums[1])), "validation": (int(sums[2]), int(sums[3]))}


@dataclass(frozen=True)
class MixturePlan:
    """The whole mixture: the budget, each source's plan, and the shard count of each split.

    ``planned`` holds the (tokens, document copies) each split will receive, exactly: it is
    computed from the same hashes the pipeline uses to decide.
    """

    total_tokens: int
    budget: str
    validation_fraction: float
    sources: dict[str, SourcePlan]
    shards: dict[str, int]
    planned: dict[str, tuple[int, int]]

    def split_of(self, doc_base: int) -> str:
        """``"validation"`` or ``"train"`` for the document with this base hash."""
        return "validation" if is_validation(doc_base, self.validation_fraction) else "train"

    def shard_keys(self) -> list[tuple[str, int]]:
        """Every (split, shard index) that will be written, in order."""
        return [(split, i) for split in ("train", "validation") for i in range(self.shards.get(split, 0))]


def make_plan(
    weights: Mapping[str, float],
    arrays: Mapping[str, SourceUnits],
    total_tokens: int | None,
    validation_fraction: float,
    shard_tokens: int,
) -> MixturePlan:
    """Plan the mixture from each source's `SourceUnits`: rates, copy thresholds, and shard
    counts sized to ``shard_tokens``. Pure: equal inputs give equal plans whatever order the
    arrays were collected in."""
    total, plans = plan_mixture(weights, arrays, total_tokens)
    return finish_plan(total, total_tokens is None, validation_fraction, plans, split_tokens(plans, arrays), shard_tokens)


def finish_plan(
    total: int,
    max_without_repeat: bool,
    validation_fraction: float,
    plans: Mapping[str, SourcePlan],
    planned: Mapping[str, tuple[int, int]],
    shard_tokens: int,
) -> MixturePlan:
    """The `MixturePlan` from the source plans and the planned (tokens, copies) per split."""
    shards = {split: shard_count(t, shard_tokens, c) for split, (t, c) in planned.items()}
    return MixturePlan(
        total_tokens=total,
        budget="max_without_repeat" if max_without_repeat else "total_tokens",
        validation_fraction=validation_fraction,
        sources=dict(plans),
        shards=shards,
        planned=dict(planned),
    )


__all__: Sequence[str] = [
    "SourceTarget",
    "SourceUnits",
    "piece_base",
    "MixturePlan",
    "make_plan",
    "SourcePlan",
    "base_hash",
    "copy_counts",
    "derive",
    "derive_array",
    "epochs",
    "bucket_histogram",
    "bucket_members",
    "crossing_bucket",
    "finish_plan",
    "finish_source",
    "source_targets",
    "split_dict",
    "split_sums",
    "is_validation",
    "mixture_rates",
    "normalised_weights",
    "plan_mixture",
    "realised_shares",
    "resolve_budget",
    "shard_count",
    "shard_of",
    "shard_array",
    "expand_copies",
    "shuffle_key",
    "split_tokens",
    "unit",
    "validation_mask",
]
