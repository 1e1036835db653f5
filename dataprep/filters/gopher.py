"""Gopher's quality and repetition rules (Rae et al. 2021, appendix A.1.1 and table A1).

Pure functions: ``gopher_quality(text, rules)`` and ``gopher_repetition(text, rules)`` return
`KEEP` or ``Verdict(False, reason)``. Words are whitespace-separated tokens with surrounding
punctuation stripped (a token of punctuation only is not a word), which is what the paper's
"words" are without a language-specific tokenizer. Counting runs in C (``re``, ``str`` methods,
``collections.Counter``) and numpy, never in a per-word Python loop.

The n-gram fractions follow RedPajama-V2's definitions of Gopher's signals
(``rps_doc_frac_chars_top_{2,3,4}gram``, ``rps_doc_frac_chars_dupe_{5..10}grams``): the
denominator is the number of characters in words, and a word covered by several duplicated
n-grams is counted once.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from itertools import filterfalse, repeat

import numpy as np

from dataprep.filters.config import GopherQualityRules, GopherRepetitionRules
from dataprep.records import KEEP, Verdict

# Punctuation stripped from both ends of a token: ASCII plus common Unicode quotes and dashes.
PUNCTUATION = string.punctuation + "“”‘’«»„‚–—…·•¡¿、。，；：！？"
# Bullet characters that start a list line (Dolma's Gopher implementation adds "-" and "*").
BULLETS = ("•", "●", "‣", "◦", "▪", "▫", "*", "-", "–")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A whitespace token containing at least one letter ([^\W\d_] is a Unicode letter).
ALPHA_TOKEN = re.compile(r"(?<!\S)(?=[^\s]*[^\W\d_])\S+")


def words(text: str) -> list[str]:
    """Whitespace tokens with surrounding punctuation stripped; punctuation-only tokens dropped.

    >>> words("Hello, world -- it's 3 p.m.!")
    ['Hello', 'world', "it's", '3', 'p.m']
    """
    tokens = text.split()
    return list(filter(None, map(str.strip, tokens, repeat(PUNCTUATION, len(tokens)))))  # all in C


def gopher_quality(text: str, rules: GopherQualityRules) -> Verdict:
    """Gopher's quality filter. Reasons: ``gopher_word_count``, ``gopher_mean_word_length``,
    ``gopher_symbol_ratio``, ``gopher_bullet_lines``, ``gopher_ellipsis_lines``,
    ``gopher_alpha_words``, ``gopher_stop_words``.

    >>> from dataprep.filters.config import GopherQualityRules
    >>> gopher_quality("too short", GopherQualityRules())
    Verdict(keep=False, reason='gopher_word_count')
    """
    ws = words(text)
    n = len(ws)
    if n < rules.min_words or n > rules.max_words:
        return Verdict(False, "gopher_word_count")
    if n == 0:
        return KEEP  # min_words is 0 and the text has no words: nothing else can be measured
    mean_len = sum(map(len, ws)) / n
    if mean_len < rules.min_mean_word_length or mean_len > rules.max_mean_word_length:
        return Verdict(False, "gopher_mean_word_length")
    ellipses = text.count("...") + text.count("…")
    if text.count("#") / n > rules.max_symbol_word_ratio or ellipses / n > rules.max_symbol_word_ratio:
        return Verdict(False, "gopher_symbol_ratio")
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    if lines:
        bullets = sum(1 for line in lines if line.startswith(BULLETS))
        if bullets / len(lines) > rules.max_bullet_lines_ratio:
            return Verdict(False, "gopher_bullet_lines")
        ellipsis_lines = sum(1 for line in lines if line.endswith(("...", "…")))
        if ellipsis_lines / len(lines) > rules.max_ellipsis_lines_ratio:
            return Verdict(False, "gopher_ellipsis_lines")
    # Over whitespace tokens (not stripped words), so that "1984" and "---" count as non-alpha.
    tokens = len(text.split())
    if tokens and len(ALPHA_TOKEN.findall(text)) / tokens < rules.min_alpha_words_ratio:
        return Verdict(False, "gopher_alpha_words")
    if rules.min_stop_words:
        counts = Counter(map(str.lower, ws))
        if sum(counts[w] for w in rules.stop_words) < rules.min_stop_words:
            return Verdict(False, "gopher_stop_words")
    return KEEP


def duplicate_stats(items: list[str]) -> tuple[int, int]:
    """(number of items that repeat an earlier one, their characters).

    >>> duplicate_stats(["a", "bb", "a", "bb", "bb", "c"])
    (3, 5)
    """
    counts = Counter(items)
    dup_items = len(items) - len(counts)
    dup_chars = sum(len(item) * (c - 1) for item, c in counts.items() if c > 1)
    return dup_items, dup_chars


def _ngram_ids(word_ids: np.ndarray, n: int) -> np.ndarray:
    """One uint64 id per n-gram start: a polynomial hash of the n word ids (wraps mod 2**64;
    a collision needs two distinct n-grams to agree on 64 bits)."""
    m = len(word_ids) - n + 1
    h = np.zeros(m, dtype=np.uint64)
    mult = np.uint64(1_000_003)
    for k in range(n):  # n <= 10: a loop over positions, each step vectorised over the document
        h = h * mult + word_ids[k : k + m] + np.uint64(1)
    return h


# Text is encoded into word ids this many characters at a time, so that the Python strings of
# only one slice are alive at once: about 16 bytes per word of the whole document stay (id and
# length), instead of two Python lists of every word (~120 bytes per word).
ENCODE_CHUNK_CHARS = 1 << 20
WHITESPACE = re.compile(r"\s")


def encode_words(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Ids (uint64, numbered by first occurrence) and character lengths of ``words(text)``.

    >>> ids, lengths = encode_words("the cat, the dog")
    >>> ids.tolist(), lengths.tolist()
    ([0, 1, 0, 2], [3, 3, 3, 3])
    """
    vocab: dict[str, int] = {}
    id_parts: list[np.ndarray] = []
    len_parts: list[np.ndarray] = []
    start, n = 0, len(text)
    while start < n:
        end = min(n, start + ENCODE_CHUNK_CHARS)
        if end < n:  # move the cut to whitespace so that no word is split
            m = WHITESPACE.search(text, end)
            end = m.start() if m else n
        ws = words(text[start:end])
        new = list(filterfalse(vocab.__contains__, dict.fromkeys(ws)))
        vocab.update(zip(new, range(len(vocab), len(vocab) + len(new))))
        id_parts.append(np.fromiter(map(vocab.__getitem__, ws), dtype=np.uint64, count=len(ws)))
        len_parts.append(np.fromiter(map(len, ws), dtype=np.int64, count=len(ws)))
        start = end
    if not id_parts:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    return np.concatenate(id_parts), np.concatenate(len_parts)


def ngram_char_fractions(
    ws: list[str], top_ns: tuple[int, ...], dup_ns: tuple[int, ...]
) -> tuple[dict[int, float], dict[int, float]]:
    """Fractions of word characters in the most frequent n-gram (for each n in ``top_ns``) and in
    all duplicated n-grams (each n in ``dup_ns``), as defined by RedPajama-V2.

    >>> top, dup = ngram_char_fractions("the cat sat on the cat".split(), (2,), (2,))
    >>> round(top[2], 3), round(dup[2], 3)  # "the cat" twice: 12 of 17 word characters
    (0.706, 0.706)
    """
    return ngram_fractions(*encode_words(" ".join(ws)), top_ns, dup_ns)


def ngram_fractions(
    word_ids: np.ndarray, lengths: np.ndarray, top_ns: tuple[int, ...], dup_ns: tuple[int, ...]
) -> tuple[dict[int, float], dict[int, float]]:
    """`ngram_char_fractions` over encoded words (see `encode_words`), all in numpy."""
    n_words = len(word_ids)
    total = int(lengths.sum())
    top: dict[int, float] = {}
    dup: dict[int, float] = {}
    if n_words == 0 or total == 0:
        return {n: 0.0 for n in top_ns}, {n: 0.0 for n in dup_ns}
    csum = np.concatenate(([0], np.cumsum(lengths)))
    for n in sorted(set(top_ns) | set(dup_ns)):
        if n_words < n:
            top[n] = dup[n] = 0.0
            continue
        ids = _ngram_ids(word_ids, n)
        uniq, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
        if n in top_ns:
            # Characters of one occurrence of each n-gram, times its count; ties broken by size.
            best = counts.max()
            if best > 1:
                starts = np.arange(len(ids))
                gram_chars = csum[starts + n] - csum[starts]
                first = np.full(len(uniq), -1, dtype=np.int64)
                first[inverse[::-1]] = starts[::-1]  # first occurrence of each unique n-gram
                cand = np.flatnonzero(counts == best)
                top[n] = min(1.0, float(gram_chars[first[cand]].max() * best) / total)  # overlaps can pass 1
            else:
                top[n] = 0.0
        if n in dup_ns:
            # Words covered by any occurrence of a repeated n-gram: +1 at each start, -1 after
            # its end, a running sum > 0 marks covered words.
            dup_starts = np.flatnonzero(counts[inverse] > 1)
            cover = np.bincount(dup_starts, minlength=n_words + n) - np.bincount(dup_starts + n, minlength=n_words + n)
            covered = np.cumsum(cover[:n_words]) > 0
            dup[n] = float(lengths[covered].sum()) / total
    return {n: top[n] for n in top_ns}, {n: dup[n] for n in dup_ns}


def gopher_repetition(text: str, rules: GopherRepetitionRules) -> Verdict:
    """Gopher's repetition removal. Reasons: ``gopher_dup_paragraphs``,
    ``gopher_dup_paragraph_chars``, ``gopher_dup_lines``, ``gopher_dup_line_chars``,
    ``gopher_top_<n>gram``, ``gopher_dup_<n>gram``.

    Blank lines are not lines here: a blank line between every paragraph would otherwise make
    any well-formatted text look repetitive (datatrove counts them; Gopher's text does not say).

    >>> from dataprep.filters.config import GopherRepetitionRules
    >>> gopher_repetition("same line\\n" * 5 + "other line", GopherRepetitionRules())
    Verdict(keep=False, reason='gopher_dup_lines')
    """
    if not text:
        return KEEP
    paragraphs = [p.strip() for p in PARAGRAPH_BREAK.split(text.strip())]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs:
        dup, dup_chars = duplicate_stats(paragraphs)
        if dup / len(paragraphs) > rules.max_dup_paragraph_fraction:
            return Verdict(False, "gopher_dup_paragraphs")
        if dup_chars / len(text) > rules.max_dup_paragraph_char_fraction:
            return Verdict(False, "gopher_dup_paragraph_chars")
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    if lines:
        dup, dup_chars = duplicate_stats(lines)
        if dup / len(lines) > rules.max_dup_line_fraction:
            return Verdict(False, "gopher_dup_lines")
        if dup_chars / len(text) > rules.max_dup_line_char_fraction:
            return Verdict(False, "gopher_dup_line_chars")
    top_limits = rules.max_top_ngram_char_fraction
    dup_limits = rules.max_dup_ngram_char_fraction
    top, dupf = ngram_fractions(*encode_words(text), tuple(top_limits), tuple(dup_limits))
    for n in sorted(top_limits):
        if top[n] > top_limits[n]:
            return Verdict(False, f"gopher_top_{n}gram")
    for n in sorted(dup_limits):
        if dupf[n] > dup_limits[n]:
            return Verdict(False, f"gopher_dup_{n}gram")
    return KEEP
