"""Verification of candidate pairs: exact Jaccard of shingle sets, or Levenshtein similarity.

LSH only proposes candidates (pairs whose signatures share a band); verification computes the
real similarity so that a collision of two merely related documents is never dropped.
``levenshtein`` is rapidfuzz's normalised similarity ``1 - distance / max(len(a), len(b))`` (PaLM
removes code duplicates by Levenshtein distance); it is bit-parallel but still O(len(a)·len(b)/64),
so pairs where either text is longer than ``max_levenshtein_chars`` are compared by Jaccard of
their shingle sets instead (documented bound for very long documents).
"""

from __future__ import annotations

import numpy as np
from rapidfuzz.distance import Levenshtein

from dataprep.dedup.config import DedupSettings
from dataprep.dedup.minhash import shingle_set


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted arrays of distinct hashes; two empty sets give 1.0.

    >>> jaccard(np.array([1, 2, 3]), np.array([2, 3, 4]))
    0.5
    """
    if a.size == 0 and b.size == 0:
        return 1.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)


def levenshtein_similarity(a: str, b: str, score_cutoff: float | None = None) -> float:
    """``1 - distance / max(len)``; with ``score_cutoff``, 0.0 whenever the similarity is below
    it (rapidfuzz then stops early: 8-14x faster, see DESIGN.md).

    >>> levenshtein_similarity("kitten", "sitting")
    0.5714285714285714
    """
    if not a and not b:
        return 1.0
    if score_cutoff is not None and min(len(a), len(b)) < score_cutoff * max(len(a), len(b)):
        return 0.0  # the length difference alone puts it below the cutoff
    return float(Levenshtein.normalized_similarity(a, b, score_cutoff=score_cutoff))


def pair_metric(a: DedupSettings, b: DedupSettings) -> str:
    """The metric for a pair from two sources: Levenshtein if either source asks for it."""
    return "levenshtein" if "levenshtein" in (a.metric, b.metric) else "jaccard"


def similarity(
    text_a: str,
    text_b: str,
    settings: DedupSettings,
    metric: str | None = None,
    score_cutoff: float | None = None,
    memo: dict | None = None,
) -> float:
    """Similarity of two documents by ``metric`` (default ``settings.metric``).

    Levenshtein falls back to Jaccard of the shingle sets when either text is longer than
    ``settings.max_levenshtein_chars``. ``score_cutoff`` lets Levenshtein stop early (the result
    is then 0.0 below the cutoff); Jaccard is always exact. ``memo`` (a dict the caller keeps
    while comparing one ``text_a`` with many texts) caches ``text_a``'s shingle set.
    """
    metric = metric or settings.metric
    if text_a == text_b:  # cheap and common (a bucket of copies)
        return 1.0
    if metric == "levenshtein" and max(len(text_a), len(text_b)) <= settings.max_levenshtein_chars:
        return levenshtein_similarity(text_a, text_b, score_cutoff)
    key = (settings.shingle, settings.ngram)
    cached = memo.get(key) if memo is not None else None
    if cached is not None and cached[0] is text_a:  # the memo holds text_a: its id cannot be reused
        set_a = cached[1]
    else:
        set_a = shingle_set(text_a, settings.shingle, settings.ngram)
        if memo is not None:
            memo[key] = (text_a, set_a)
    return jaccard(set_a, shingle_set(text_b, settings.shingle, settings.ngram))


def is_duplicate(
    text_a: str, text_b: str, settings: DedupSettings, metric: str | None = None, threshold: float | None = None, memo: dict | None = None
) -> bool:
    """True when the two texts are at least ``threshold`` (default ``settings.threshold``) similar."""
    threshold = settings.threshold if threshold is None else threshold
    return similarity(text_a, text_b, settings, metric, score_cutoff=threshold, memo=memo) >= threshold
