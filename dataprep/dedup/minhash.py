"""Shingles, MinHash signatures and LSH band keys, vectorised with numpy.

Shingles
    ``word``: the text is case-folded and UTF-8 encoded; a *token* is a maximal run of ASCII
    letters, digits and ``_`` or of non-ASCII bytes (so accented and non-Latin words stay whole,
    ASCII punctuation and whitespace separate). A shingle is ``n`` consecutive tokens. Numbers are
    kept as they are: folding digits (datatrove's default) makes pages that differ only in their
    numbers look identical.
    ``char``: runs of ASCII whitespace are collapsed to one space and the ends stripped (so
    re-indented code keeps its shingles); a shingle is ``n`` consecutive *bytes* (n <= 8) of the
    UTF-8 encoding, packed exactly into 64 bits. Case is kept.
    A document with fewer than ``n`` tokens (bytes) has exactly one shingle: all of them. A
    document with no token has none: it is never a near duplicate (exact dedup still sees it).

Hashes
    Token hashes are polynomial hashes of the bytes modulo 2^64 computed for a whole chunk at
    once from prefix sums (no per-token Python), finished with the 64-bit MurmurHash3 mixer;
    a word shingle hash combines its token hashes polynomially and mixes again; a char shingle
    hashes its packed bytes with the same mixer. `shingle_hash64` computes the same value for one
    shingle in plain Python (the reference the vectorised code is tested against).

Signature
    datasketch's ``affine32`` scheme (its default since 2.0): with the 32-bit shingle hash ``h``
    (low half of the 64-bit one), permutation ``k`` maps it to ``a_k * fmix32(h) + b_k mod 2^32``
    and the signature keeps the minimum over shingles. ``a_k, b_k`` are drawn exactly as
    datasketch draws them from ``numpy.random.RandomState(seed)``, so
    ``MinHash(num_perm, seed, hashfunc=shingle_hash32)`` fed `shingles` gives the same hash
    values, and `to_lean_minhash` hands a signature to ``MinHashLSH``. The (shingles × num_perm)
    matrix is computed in blocks of `BLOCK_ROWS` shingles, so memory stays bounded for any document.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator, Sequence

import numpy as np

from dataprep.dedup.config import DedupSettings

U64 = np.uint64
U32 = np.uint32
MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1

# Polynomial bases (odd, so invertible modulo 2^64): the golden ratio constant and a
# large odd prime-like constant from xxhash64 (PRIME64_2).
BYTE_BASE = 0x9E3779B97F4A7C15
TOKEN_BASE = 0xC2B2AE3D27D4EB4F
BYTE_BASE_INV = pow(BYTE_BASE, -1, 1 << 64)
# Salt mixed with a token's length so that tokens differing only by trailing zero-valued
# polynomial terms cannot collide.
LENGTH_SALT = 0x165667B19E3779F9

# Characters of text processed per chunk; bounds the temporaries of a 50 MB document.
CHUNK_CHARS = 1 << 18
# Shingles per block of the (num_perm x shingles) matrix: 128 x 8192 x 4 B = 4 MiB.
BLOCK_ROWS = 8192

_WORD_BYTE = np.zeros(256, dtype=bool)
for _c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _WORD_BYTE[_c] = True
_WORD_BYTE[0x80:] = True
_SPACE_BYTE = np.zeros(256, dtype=bool)
for _c in b" \t\n\r\x0b\x0c":
    _SPACE_BYTE[_c] = True


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (a bijection that avalanches), element-wise on uint64."""
    h = h ^ (h >> U64(33))
    h = h * U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> U64(33))
    h = h * U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> U64(33))


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, element-wise on uint32 (what datasketch applies)."""
    h = h ^ (h >> U32(16))
    h = h * U32(0x85EBCA6B)
    h = h ^ (h >> U32(13))
    h = h * U32(0xC2B2AE35)
    return h ^ (h >> U32(16))


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK64
    return h ^ (h >> 33)


@functools.lru_cache(maxsize=None)
def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """BYTE_BASE^j and BYTE_BASE^-j mod 2^64 for j < n (n rounded up to a power of two)."""
    pw = np.full(n, BYTE_BASE, dtype=U64)
    pw[0] = 1
    inv = np.full(n, BYTE_BASE_INV, dtype=U64)
    inv[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(pw, dtype=U64), np.cumprod(inv, dtype=U64)


def _powers_for(n: int) -> tuple[np.ndarray, np.ndarray]:
    size = 1 << max(12, (n - 1).bit_length())
    return _powers(size)


def _token_hashes(data: bytes, with_starts: bool = False) -> Any:
    """Hashes of the tokens of already case-folded UTF-8 ``data``, in order (uint64); with
    ``with_starts``, also the byte offset where each token starts."""
    empty = np.empty(0, dtype=U64)
    if not data:
        return (empty, np.empty(0, dtype=np.int64)) if with_starts else empty
    b = np.frombuffer(data, dtype=np.uint8)
    padded = np.zeros(b.size + 2, dtype=bool)
    padded[1:-1] = np.take(_WORD_BYTE, b)  # faster than fancy indexing or take(out=)
    # Token starts and ends alternate, so one scan of the class changes finds both; a boolean
    # array, because np.flatnonzero is 7x slower on an int8 diff (3.4 ms per MB against 0.47).
    bounds = np.flatnonzero(padded[1:] != padded[:-1])
    if bounds.size == 0:
        empty_starts = np.empty(0, dtype=np.int64)
        return (empty, empty_starts) if with_starts else empty
    starts, ends = bounds[0::2], bounds[1::2]
    pw, inv = _powers_for(b.size + 1)
    cum = np.empty(b.size + 1, dtype=U64)
    cum[0] = 0
    # (byte + 1) so that a zero byte still changes the hash.
    np.cumsum((b.astype(U64) + U64(1)) * pw[: b.size], dtype=U64, out=cum[1:])
    raw = (cum[ends] - cum[starts]) * inv[starts]
    lengths = (ends - starts).astype(U64)
    hashes = fmix64(raw ^ (lengths * U64(LENGTH_SALT)))
    return (hashes, starts) if with_starts else hashes


def _combine(tokens: np.ndarray, n: int) -> np.ndarray:
    """Hashes of the n-grams of a token-hash array (len(tokens) - n + 1 of them)."""
    m = tokens.size - n + 1
    g = tokens[:m].copy()
    for k in range(1, n):
        g = g * U64(TOKEN_BASE) + tokens[k : k + m]
    return fmix64(g ^ U64(n))


def _word_chunks(text: str) -> Iterator[bytes]:
    """Case-folded UTF-8 of ``text`` in chunks that never split a token."""
    carry = b""
    for i in range(0, len(text), CHUNK_CHARS):
        data = carry + text[i : i + CHUNK_CHARS].casefold().encode("utf-8", "surrogatepass")
        if i + CHUNK_CHARS >= len(text):
            yield data
            return
        b = np.frombuffer(data, dtype=np.uint8)
        cut = np.flatnonzero(~_WORD_BYTE[b])
        if cut.size == 0:  # one token longer than the chunk: keep accumulating
            carry = data
            continue
        k = int(cut[-1]) + 1
        carry = data[k:]
        yield data[:k]
    if carry:
        yield carry


def _word_shingle_hashes(text: str, n: int) -> Iterator[np.ndarray]:
    tail = np.empty(0, dtype=U64)
    emitted = False
    for data in _word_chunks(text):
        tokens = np.concatenate([tail, _token_hashes(data)])
        if tokens.size >= n:
            yield _combine(tokens, n)
            emitted = True
            tail = tokens[tokens.size - (n - 1) :] if n > 1 else tokens[:0]
        else:
            tail = tokens
    if not emitted and tail.size:
        yield _combine(tail, tail.size)


def _collapse_spaces(b: np.ndarray, prev_space: bool) -> np.ndarray:
    """Bytes with each run of ASCII whitespace replaced by one space."""
    space = _SPACE_BYTE[b]
    before = np.empty_like(space)
    before[0] = prev_space
    before[1:] = space[:-1]
    out = b[~(space & before)].copy()
    out[_SPACE_BYTE[out]] = 0x20
    return out


def _char_shingle_hashes(text: str, n: int) -> Iterator[np.ndarray]:
    text = text.strip(" \t\n\r\x0b\x0c")
    tail = np.empty(0, dtype=np.uint8)
    emitted = False
    prev_space = False
    for i in range(0, len(text), CHUNK_CHARS):
        raw = np.frombuffer(text[i : i + CHUNK_CHARS].encode("utf-8", "surrogatepass"), dtype=np.uint8)
        if raw.size == 0:
            continue
        collapsed = _collapse_spaces(raw, prev_space)
        prev_space = bool(_SPACE_BYTE[raw[-1]])
        b = np.concatenate([tail, collapsed])
        if b.size >= n:
            m = b.size - n + 1
            packed = b[:m].astype(U64)
            for k in range(1, n):
                packed = (packed << U64(8)) | b[k : k + m].astype(U64)
            yield fmix64(packed ^ U64(n << 56))
            emitted = True
            tail = b[b.size - (n - 1) :] if n > 1 else b[:0]
        else:
            tail = b
    if not emitted and tail.size:
        packed = np.array([int.from_bytes(tail.tobytes(), "big")], dtype=U64)
        yield fmix64(packed ^ U64(tail.size << 56))


def iter_shingle_hashes(text: str, shingle: str, n: int) -> Iterator[np.ndarray]:
    """64-bit hashes of the shingles of ``text``, in text order, in bounded-size chunks."""
    if shingle == "word":
        return _word_shingle_hashes(text, n)
    if shingle == "char":
        return _char_shingle_hashes(text, n)
    raise ValueError(f"unknown shingle kind {shingle!r}")


def shingle_set(text: str, shingle: str = "word", n: int = 5) -> np.ndarray:
    """The sorted distinct 64-bit shingle hashes of ``text`` (what exact Jaccard compares).

    >>> shingle_set("a b c", "word", 2).size
    2
    """
    parts = list(iter_shingle_hashes(text, shingle, n))
    if not parts:
        return np.empty(0, dtype=U64)
    return np.unique(np.concatenate(parts))


def shingles(text: str, shingle: str = "word", n: int = 5) -> list[bytes | tuple[bytes, ...]]:
    """The shingles of ``text`` as Python objects (plain-Python reference, slow: for tests and
    for feeding datasketch): tuples of token bytes for ``word``, byte strings for ``char``.

    >>> shingles("The cat, the hat", "word", 3)
    [(b'the', b'cat', b'the'), (b'cat', b'the', b'hat')]
    """
    if shingle == "word":
        data = text.casefold().encode("utf-8", "surrogatepass")
        b = np.frombuffer(data, dtype=np.uint8) if data else np.empty(0, dtype=np.uint8)
        word = _WORD_BYTE[b]
        edges = np.diff(word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
        toks = [data[s:e] for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]
        if not toks:
            return []
        if len(toks) < n:
            return [tuple(toks)]
        return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    if shingle == "char":
        s = text.strip(" \t\n\r\x0b\x0c")
        raw = np.frombuffer(s.encode("utf-8", "surrogatepass"), dtype=np.uint8)
        if raw.size == 0:
            return []
        data = _collapse_spaces(raw, False).tobytes()
        if len(data) < n:
            return [data]
        return [data[i : i + n] for i in range(len(data) - n + 1)]
    raise ValueError(f"unknown shingle kind {shingle!r}")


def _token_hash_int(tok: bytes) -> int:
    raw = 0
    p = 1
    for byte in tok:
        raw = (raw + (byte + 1) * p) & MASK64
        p = (p * BYTE_BASE) & MASK64
    return _fmix64_int(raw ^ ((len(tok) * LENGTH_SALT) & MASK64))


def shingle_hash64(item: bytes | tuple[bytes, ...]) -> int:
    """The 64-bit hash of one shingle as returned by `shingles` (plain Python reference)."""
    if isinstance(item, tuple):
        g = 0
        for tok in item:
            g = (g * TOKEN_BASE + _token_hash_int(tok)) & MASK64
        return _fmix64_int(g ^ len(item))
    return _fmix64_int(int.from_bytes(item, "big") ^ (len(item) << 56))


def shingle_hash32(item: bytes | tuple[bytes, ...]) -> int:
    """The 32-bit hash a signature is built from: pass as datasketch's ``hashfunc``."""
    return shingle_hash64(item) & MASK32


@functools.lru_cache(maxsize=64)
def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` of datasketch's ``affine32`` scheme, drawn exactly as datasketch 2.x draws them:
    ``a`` odd in [1, 2^32), ``b`` in [0, 2^32), both uint32, from ``RandomState(seed)``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=U32) * U32(2) + U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint64).astype(U32)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


def signature_of_hashes(chunks: Sequence[np.ndarray] | Iterator[np.ndarray], num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """MinHash signature (uint32[num_perm]) of shingles given by their 64-bit hashes.

    An empty input gives all ``2^32 - 1`` (datasketch's empty MinHash).
    """
    a, b = permutations(num_perm, seed)
    a_col, b_col = a[:, None], b[:, None]
    sig = np.full(num_perm, MASK32, dtype=U32)
    buf = None
    for chunk in chunks:
        for lo in range(0, chunk.size, BLOCK_ROWS):
            h = fmix32((chunk[lo : lo + BLOCK_ROWS] & U64(MASK32)).astype(U32))
            if buf is None or buf.shape[1] < h.size:
                buf = np.empty((num_perm, min(BLOCK_ROWS, max(h.size, 256))), dtype=U32)
            # (num_perm x shingles) with the reduction along the contiguous axis, in place in a
            # reused buffer: 2.7x faster than (shingles x num_perm) with fresh temporaries.
            t = buf[:, : h.size]
            np.multiply(a_col, h[None, :], out=t)
            np.add(t, b_col, out=t)
            np.minimum(sig, t.min(axis=1), out=sig)
    return sig


# Documents at most this long are signed together by `signatures`; longer ones stream alone.
BATCH_DOC_CHARS = 1 << 20


def _char_bytes(text: str) -> np.ndarray:
    """Whitespace-collapsed, stripped UTF-8 bytes of a (not huge) text, as char shingles see it."""
    raw = np.frombuffer(text.strip(" \t\n\r\x0b\x0c").encode("utf-8", "surrogatepass"), dtype=np.uint8)
    return _collapse_spaces(raw, False) if raw.size else raw


def _batch_shingles(texts: Sequence[str], shingle: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of many short texts at once: ``(hashes, doc index)``, grouped by document
    in order. Texts are concatenated with a separator and windows crossing a boundary removed,
    so the numpy calls are per batch, not per document."""
    if shingle == "word":
        enc = [t.casefold().encode("utf-8", "surrogatepass") for t in texts]
        data = b"\n".join(enc)  # "\n" is not a word byte: no token spans two documents
        starts = np.zeros(len(enc), dtype=np.int64)
        if len(enc) > 1:
            starts[1:] = np.cumsum([len(e) + 1 for e in enc[:-1]])
        units, tok_start = _token_hashes(data, with_starts=True)
        # tokens per document from the few document starts (cheaper than locating every token)
        first_tok = np.searchsorted(tok_start, starts)
        per_doc = np.diff(np.append(first_tok, tok_start.size))
        unit_doc = np.repeat(np.arange(len(enc)), per_doc)
    else:
        parts = [_char_bytes(t) for t in texts]
        sizes = np.array([p.size for p in parts], dtype=np.int64)
        units = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint8)
        unit_doc = np.repeat(np.arange(len(parts)), sizes)
    counts = np.bincount(unit_doc, minlength=len(texts)) if unit_doc.size else np.zeros(len(texts), dtype=np.int64)
    hashes, docs = [], []
    if units.size >= n:
        m = units.size - n + 1
        if shingle == "word":
            g = _combine(units, n)
        else:
            packed = units[:m].astype(U64)
            for k in range(1, n):
                packed = (packed << U64(8)) | units[k : k + m].astype(U64)
            g = fmix64(packed ^ U64(n << 56))
        valid = unit_doc[:m] == unit_doc[n - 1 :]
        hashes.append(g[valid])
        docs.append(unit_doc[:m][valid])
    # A document with fewer units than n has one shingle of all of them (rare: a Python loop).
    offsets = np.concatenate([[0], np.cumsum(counts)])
    for d in np.flatnonzero((counts > 0) & (counts < n)):
        seg = units[offsets[d] : offsets[d + 1]]
        if shingle == "word":
            hashes.append(_combine(seg, seg.size))
        else:
            hashes.append(fmix64(np.array([int.from_bytes(seg.tobytes(), "big")], dtype=U64) ^ U64(seg.size << 56)))
        docs.append(np.array([d]))
    if not hashes:
        return np.empty(0, dtype=U64), np.empty(0, dtype=np.int64)
    if len(hashes) == 1:  # no short document: already grouped by document, in order
        return hashes[0], docs[0]
    h, d = np.concatenate(hashes), np.concatenate(docs)
    order = np.argsort(d, kind="stable")
    return h[order], d[order]


def signatures(texts: Sequence[str], settings: DedupSettings = DedupSettings()) -> np.ndarray:
    """Signatures of many documents, ``uint32[len(texts), num_perm]``, equal row for row to
    `signature` but computed a batch at a time (documents longer than `BATCH_DOC_CHARS` are
    signed alone, streaming)."""
    a, b = permutations(settings.num_perm, settings.minhash_seed)
    a_col, b_col = a[:, None], b[:, None]
    out = np.full((len(texts), settings.num_perm), MASK32, dtype=U32)
    small = [i for i, t in enumerate(texts) if len(t) <= BATCH_DOC_CHARS]
    for i in sorted(set(range(len(texts))) - set(small)):
        out[i] = signature(texts[i], settings)
    if not small:
        return out
    hashes, doc = _batch_shingles([texts[i] for i in small], settings.shingle, settings.ngram)
    small_idx = np.array(small)
    buf = np.empty((settings.num_perm, BLOCK_ROWS), dtype=U32)
    for lo in range(0, hashes.size, BLOCK_ROWS):
        h = fmix32((hashes[lo : lo + BLOCK_ROWS] & U64(MASK32)).astype(U32))
        d = doc[lo : lo + BLOCK_ROWS]
        t = buf[:, : h.size]
        np.multiply(a_col, h[None, :], out=t)
        np.add(t, b_col, out=t)
        seg = np.flatnonzero(np.diff(d, prepend=-1))  # first shingle of each document in the block
        mins = np.minimum.reduceat(t, seg, axis=1)
        rows = small_idx[d[seg]]
        out[rows] = np.minimum(out[rows], mins.T)
    return out


def signature(text: str, settings: DedupSettings = DedupSettings()) -> np.ndarray:
    """MinHash signature (uint32[num_perm]) of ``text`` with ``settings``' shingles and seed.

    >>> signature("", DedupSettings(num_perm=4)).tolist()
    [4294967295, 4294967295, 4294967295, 4294967295]
    """
    return signature_of_hashes(iter_shingle_hashes(text, settings.shingle, settings.ngram), settings.num_perm, settings.minhash_seed)


def is_empty_signature(sig: np.ndarray) -> bool:
    """True for the signature of a document without shingles."""
    return bool((sig == U32(MASK32)).all())


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Fraction of equal signature values: an unbiased estimate of the Jaccard similarity."""
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.size


def band_hashes(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit LSH key per band of every signature: ``uint64[len(sigs), bands]``.

    ``sigs`` is ``uint32[n, num_perm]`` (`signatures`). Band ``i`` of a document is hashed from
    its ``rows`` values, two at a time, by a chain of MurmurHash3's 64-bit finaliser seeded with
    the band index. The finaliser is a bijection, so for a given band index two different bands
    share a key only by a 2^-64 collision (an extra candidate, which verification removes);
    equal bands always do. Vectorised over documents and bands: ``ceil(rows / 2)`` numpy passes.

    >>> s = np.arange(24, dtype=np.uint32).reshape(2, 12)
    >>> k = band_hashes(s, 4, 3)
    >>> k.shape, bool((band_hashes(s[:1], 4, 3) == k[:1]).all()), len(set(k[0].tolist()))
    ((2, 4), True, 4)
    """
    sigs = np.asarray(sigs, dtype=U32).reshape(len(sigs), -1)
    n = sigs.shape[0]
    v = sigs[:, : bands * rows].astype(U64).reshape(n, bands, rows)
    if rows % 2:
        v = np.concatenate([v, np.zeros((n, bands, 1), dtype=U64)], axis=2)
    pairs = (v[:, :, 0::2] << U64(32)) | v[:, :, 1::2]
    seed = fmix64((np.arange(bands, dtype=U64) + U64(1)) * U64(0x9E3779B97F4A7C15))
    h = np.broadcast_to(seed, (n, bands)).copy()
    for j in range(pairs.shape[2]):
        h = fmix64(h ^ pairs[:, :, j])
    return h


def collision_probability(s: np.ndarray | float, bands: int, rows: int) -> np.ndarray | float:
    """P(two documents of Jaccard ``s`` share at least one band): ``1 - (1 - s^r)^b``."""
    return 1.0 - (1.0 - np.power(s, rows)) ** bands


def optimal_bands(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= num_perm`` minimising the weighted error area.

    With ``P(s) = 1 - (1 - s^r)^b`` the probability that a pair of Jaccard ``s`` becomes a
    candidate, the false-positive area is ``FP = ∫_0^t P(s) ds`` and the false-negative area
    ``FN = ∫_t^1 (1 - P(s)) ds``; we minimise ``w_fp·FP + w_fn·FN`` over every ``(b, r)``
    (the same objective as datasketch's ``_optimal_param``, which integrates with scipy's
    ``quad``; here Simpson's rule on 2,001 points, all pairs at once). Ties go to fewer bands.

    For t = 0.8, 128 permutations and equal weights this gives b = 9, r = 13 (as datasketch
    does): 0.8^13 = 0.055 and (1 - 0.055)^9 = 0.60, so a pair at s = 0.8 becomes a candidate
    with probability P(0.8) = 0.40; P(0.9) = 0.93, P(0.95) = 0.998, P(0.7) = 0.084,
    P(0.5) = 0.001. Raising ``false_negative_weight`` moves the S-curve left (more candidates
    to verify, fewer duplicates missed).

    >>> optimal_bands(0.8, 128)
    (9, 13)
    """
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], dtype=np.float64)
    bands, rows = pairs[:, :1], pairs[:, 1:]

    def simpson(lo: float, hi: float, below: bool) -> np.ndarray:
        n = 2000
        s = np.linspace(lo, hi, n + 1)[None, :]
        p = collision_probability(s, bands, rows)
        f = p if below else 1.0 - p
        w = np.ones(n + 1)
        w[1:-1:2] = 4
        w[2:-1:2] = 2
        return (f * w).sum(axis=1) * (hi - lo) / (3 * n)

    err = false_positive_weight * simpson(0.0, threshold, True) + false_negative_weight * simpson(threshold, 1.0, False)
    best = int(np.argmin(np.round(err, 12)))
    return int(pairs[best, 0]), int(pairs[best, 1])


def to_lean_minhash(sig: np.ndarray, seed: int = 1):  # -> datasketch.LeanMinHash
    """The signature as a datasketch ``LeanMinHash`` (scheme ``affine32``), e.g. to insert in or
    query a ``MinHashLSH(num_perm=len(sig))``. Imports datasketch lazily."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=seed, hashvalues=sig, scheme="affine32")
