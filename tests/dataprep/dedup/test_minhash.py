"""Shingles, signatures, band choice and datasketch compatibility."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH, lsh
from hypothesis import given, settings
from hypothesis import strategies as st

from dataprep.dedup.config import DedupSettings
from dataprep.dedup.minhash import (
    band_hashes,
    estimate_jaccard,
    is_empty_signature,
    optimal_bands,
    shingle_hash32,
    shingle_hash64,
    shingle_set,
    shingles,
    signature,
    signature_of_hashes,
    to_lean_minhash,
)
from dataprep.dedup.verify import jaccard


@pytest.mark.parametrize(
    "text",
    ["", "   ", "one", "The cat, the hat!", "Ünïcode wörds 123 and 4.5 — 日本語 테스트 😀 emoji", "a\tb\n\nc  d" * 50],
)
@pytest.mark.parametrize("mode,n", [("word", 1), ("word", 3), ("word", 5), ("char", 1), ("char", 5), ("char", 8)])
def test_vectorised_hashes_equal_python_reference(text: str, mode: str, n: int) -> None:
    ref = np.array(sorted({shingle_hash64(s) for s in shingles(text, mode, n)}), dtype=np.uint64)
    assert np.array_equal(shingle_set(text, mode, n), ref)


def test_word_shingles_casefold_and_split_on_punctuation() -> None:
    assert shingles("The cat, THE hat", "word", 2) == [(b"the", b"cat"), (b"cat", b"the"), (b"the", b"hat")]
    # Numbers are kept, not folded: pages differing in numbers differ.
    assert shingle_set("price 10 dollars", "word", 1).size == 3
    assert not np.array_equal(shingle_set("in 1999 it rained", "word", 2), shingle_set("in 2024 it rained", "word", 2))


def test_char_shingles_ignore_reindentation() -> None:
    a = "def f(x):\n    return x + 1\n"
    b = "def f(x):\n\treturn x + 1"
    assert np.array_equal(shingle_set(a, "char", 5), shingle_set(b, "char", 5))


def test_document_shorter_than_one_shingle_has_one_shingle() -> None:
    assert shingles("two words", "word", 5) == [(b"two", b"words")]
    assert shingles("abc", "char", 5) == [b"abc"]
    assert shingle_set("two words", "word", 5).size == 1
    assert not is_empty_signature(signature("two words"))


def test_empty_document_has_no_shingles_and_the_empty_signature() -> None:
    for text in ("", "  \n ", "!!! ..."):
        assert shingle_set(text, "word", 5).size == 0
        assert is_empty_signature(signature(text))


@pytest.mark.parametrize("mode,n", [("word", 5), ("char", 5)])
def test_signature_equals_datasketch_minhash_with_our_hashfunc(mode: str, n: int) -> None:
    text = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife."
    s = DedupSettings(shingle=mode, ngram=n, num_perm=64, minhash_seed=7)
    m = MinHash(num_perm=64, seed=7, hashfunc=shingle_hash32)
    m.update_batch(shingles(text, mode, n))
    assert m.scheme == "affine32"
    assert np.array_equal(m.hashvalues, signature(text, s))


def test_signatures_query_a_datasketch_lsh_index() -> None:
    base = " ".join(f"word{i}" for i in range(300))
    near = base.replace("word150", "changed")
    other = " ".join(f"other{i}" for i in range(300))
    s = DedupSettings()
    index = MinHashLSH(threshold=0.8, num_perm=128)
    index.insert("base", to_lean_minhash(signature(base, s)))
    index.insert("other", to_lean_minhash(signature(other, s)))
    assert index.query(to_lean_minhash(signature(near, s))) == ["base"]
    # and mixes with MinHash objects built by datasketch itself from our shingles
    m = MinHash(num_perm=128, seed=1, hashfunc=shingle_hash32)
    m.update_batch(shingles(near, "word", 5))
    assert index.query(m) == ["base"]


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_optimal_bands_matches_datasketch(threshold: float) -> None:
    assert optimal_bands(threshold, 128) == lsh._optimal_param(threshold, 128, 0.5, 0.5)


def test_optimal_bands_respects_budget_and_weights() -> None:
    b, r = optimal_bands(0.8, 128, 0.1, 0.9)
    assert b * r <= 128
    assert (b, r) != optimal_bands(0.8, 128)  # weighting false negatives moves the curve


def test_band_hashes_agree_exactly_when_band_values_agree() -> None:
    sig = np.arange(128, dtype=np.uint32)
    other = sig.copy()
    other[0] += 1  # only band 0 differs
    ka, kb = band_hashes(np.stack([sig, other]), 9, 13)
    assert ka.shape == (9,) and ka[0] != kb[0] and (ka[1:] == kb[1:]).all()
    same = np.zeros((1, 128), dtype=np.uint32)
    assert len(set(band_hashes(same, 9, 13)[0].tolist())) == 9  # the band index seeds the key
    rng = np.random.default_rng(0)
    many = band_hashes(rng.integers(0, 2**32, size=(20000, 128), dtype=np.uint32), 20, 6)
    assert len(np.unique(many)) == many.size  # no collision among 400,000 random bands


def _random_pair(data: st.DataObject) -> tuple[np.ndarray, np.ndarray]:
    universe = np.arange(1, 3000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    n_common = data.draw(st.integers(0, 400))
    n_a = data.draw(st.integers(0, 400))
    n_b = data.draw(st.integers(0 if n_common + n_a else 1, 400))
    perm = np.random.RandomState(data.draw(st.integers(0, 2**31))).permutation(universe)
    common, a_only, b_only = perm[:n_common], perm[n_common : n_common + n_a], perm[n_common + n_a : n_common + n_a + n_b]
    return np.unique(np.concatenate([common, a_only])), np.unique(np.concatenate([common, b_only]))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_minhash_estimate_tracks_true_jaccard_within_binomial_error(data: st.DataObject) -> None:
    a, b = _random_pair(data)
    if a.size == 0 or b.size == 0:
        return
    num_perm = 256
    true = jaccard(a, b)
    est = estimate_jaccard(signature_of_hashes([a], num_perm), signature_of_hashes([b], num_perm))
    # The estimate is a mean of num_perm Bernoulli(J) draws: 5 standard errors (plus a little
    # for the 32-bit hash) bound it with probability > 1 - 1e-6 per example.
    sigma = np.sqrt(true * (1 - true) / num_perm)
    assert abs(est - true) <= 5 * sigma + 0.02


def test_fifty_megabyte_document_is_bounded_in_memory_and_time() -> None:
    para = " ".join(f"w{i % 9973}" for i in range(2000)) + "\n"
    text = para * (50_000_000 // len(para) + 1)
    assert len(text) >= 50_000_000
    tracemalloc.start()
    sig = signature(text, DedupSettings(num_perm=32))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert not is_empty_signature(sig)
    # Temporaries are per chunk (2^18 chars) and per block of rows, not per document:
    # far below the 8M x 32 x 4 B = 1 GB a whole-document matrix would take.
    assert peak < 200_000_000, peak


@pytest.mark.parametrize("mode,n", [("word", 5), ("word", 1), ("char", 5), ("char", 8)])
def test_batched_signatures_equal_one_at_a_time(mode: str, n: int) -> None:
    import random

    from dataprep.dedup.minhash import signatures

    rng = random.Random(n)
    words = ["a", "bb", "Ünï", "日本", "x1", "_y", "—", "😀", "\n", "  "]
    texts = ["", " ", "one", "two words", "!!!"] + [" ".join(rng.choice(words) for _ in range(rng.randint(0, 60))) for _ in range(200)]
    s = DedupSettings(shingle=mode, ngram=n)
    assert np.array_equal(signatures(texts, s), np.stack([signature(t, s) for t in texts]))
