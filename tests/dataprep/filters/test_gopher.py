"""Gopher quality and repetition rules: hand-written documents on both sides of every threshold."""

from __future__ import annotations

import dataclasses

import pytest

from dataprep.filters.config import GopherQualityRules, GopherRepetitionRules
from dataprep.filters.gopher import duplicate_stats, gopher_quality, gopher_repetition, ngram_char_fractions, words

PROSE_WORDS = "the quick brown fox jumps over a lazy dog and that cat sat with him".split()


def prose(n: int) -> str:
    """``n`` words of plain English (mean length 3.4, stop words present)."""
    return " ".join(PROSE_WORDS[i % len(PROSE_WORDS)] for i in range(n))


def unique_words(n: int, start: int = 0) -> list[str]:
    """``n`` distinct five-letter words (no n-gram repeats)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for i in range(start, start + n):
        out.append("w" + letters[i // 676 % 26] + letters[i // 26 % 26] + letters[i % 26] + "x")
    return out


QUALITY_ONLY = GopherQualityRules()
NO_STOP = dataclasses.replace(QUALITY_ONLY, min_stop_words=0)


def test_words_strip_punctuation_and_drop_punctuation_only_tokens():
    assert words("Hello, world -- it's “quoted” … end.") == ["Hello", "world", "it's", "quoted", "end"]
    assert words("") == []


@pytest.mark.parametrize("n,keep", [(49, False), (50, True), (51, True)])
def test_min_words(n, keep):
    verdict = gopher_quality(prose(n), QUALITY_ONLY)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_word_count"


@pytest.mark.parametrize("n,keep", [(60, True), (61, False)])
def test_max_words(n, keep):
    rules = dataclasses.replace(QUALITY_ONLY, max_words=60)
    assert gopher_quality(prose(n), rules).keep is keep


@pytest.mark.parametrize(
    "word,keep",
    [("xy", False), ("xyz", True), ("abcdefghij", True), ("abcdefghijk", False)],
)
def test_mean_word_length(word, keep):
    verdict = gopher_quality(" ".join([word] * 60), NO_STOP)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_mean_word_length"


@pytest.mark.parametrize("symbol", ["#", "...", "…"])
@pytest.mark.parametrize("count,keep", [(10, True), (11, False)])
def test_symbol_to_word_ratio(symbol, count, keep):
    # 100 words; the symbols are separate tokens, so they are not words themselves.
    text = prose(50) + (" " + symbol) * count + " " + prose(50)
    verdict = gopher_quality(text, QUALITY_ONLY)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_symbol_ratio"


@pytest.mark.parametrize("bullets,keep", [(9, True), (10, False)])
def test_bullet_lines(bullets, keep):
    lines = [("• " if i < bullets else "") + prose(10) for i in range(10)]
    verdict = gopher_quality("\n".join(lines), QUALITY_ONLY)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_bullet_lines"


@pytest.mark.parametrize("ellipsis_lines,keep", [(3, True), (4, False)])
def test_ellipsis_lines(ellipsis_lines, keep):
    lines = [prose(10) + ("..." if i < ellipsis_lines else ".") for i in range(10)]
    verdict = gopher_quality("\n".join(lines), QUALITY_ONLY)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_ellipsis_lines"


@pytest.mark.parametrize("numbers,keep", [(20, True), (21, False)])
def test_alphabetic_words(numbers, keep):
    tokens = prose(100 - numbers).split() + ["123"] * numbers
    verdict = gopher_quality(" ".join(tokens), QUALITY_ONLY)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_alpha_words"


@pytest.mark.parametrize("stop_words,keep", [(1, False), (2, True)])
def test_stop_words(stop_words, keep):
    tokens = unique_words(60 - stop_words) + ["The"] + ["and"] * (stop_words - 1)
    verdict = gopher_quality(" ".join(tokens), QUALITY_ONLY)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_stop_words"


# Repetition: each test switches the other rules off so only one threshold is in play.
OFF = GopherRepetitionRules(
    max_dup_line_fraction=1.0,
    max_dup_paragraph_fraction=1.0,
    max_dup_line_char_fraction=1.0,
    max_dup_paragraph_char_fraction=1.0,
    max_top_ngram_char_fraction={},
    max_dup_ngram_char_fraction={},
)


def line(i: int, n: int = 8) -> str:
    return " ".join(unique_words(n, start=i * n)) + "."


def test_duplicate_stats_counts_repeats_after_the_first():
    assert duplicate_stats(["a", "bb", "a", "bb", "bb", "c"]) == (3, 5)
    assert duplicate_stats([]) == (0, 0)


@pytest.mark.parametrize("dups,keep", [(3, True), (4, False)])
def test_duplicate_line_fraction(dups, keep):
    # 10 lines, "ok." dups + 1 times: the first is not a duplicate.
    lines = [line(i) for i in range(10 - (dups + 1))] + ["ok."] * (dups + 1)
    rules = dataclasses.replace(OFF, max_dup_line_fraction=0.3)
    frac = dups / len(lines)
    verdict = gopher_repetition("\n".join(lines), rules)
    assert (frac <= 0.3) is keep
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_dup_lines"


def test_blank_lines_are_not_duplicate_lines():
    text = "\n\n".join(line(i) for i in range(10))
    assert gopher_repetition(text, GopherRepetitionRules()).keep


@pytest.mark.parametrize("long_words,keep", [(12, True), (30, False)])
def test_duplicate_line_char_fraction(long_words, keep):
    repeated = line(50, long_words)
    text = "\n".join([line(i) for i in range(8)] + [repeated, repeated])
    frac = len(repeated) / len(text)
    rules = dataclasses.replace(OFF, max_dup_line_char_fraction=0.2)
    assert (frac <= 0.2) is keep, frac
    verdict = gopher_repetition(text, rules)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_dup_line_chars"


@pytest.mark.parametrize("dups,keep", [(3, True), (4, False)])
def test_duplicate_paragraph_fraction(dups, keep):
    paragraphs = [line(i) for i in range(10 - (dups + 1))] + ["Short one."] * (dups + 1)
    rules = dataclasses.replace(OFF, max_dup_paragraph_fraction=0.3)
    verdict = gopher_repetition("\n\n".join(paragraphs), rules)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_dup_paragraphs"


@pytest.mark.parametrize("long_words,keep", [(12, True), (30, False)])
def test_duplicate_paragraph_char_fraction(long_words, keep):
    repeated = line(50, long_words)
    text = "\n\n".join([line(i) for i in range(8)] + [repeated, repeated])
    rules = dataclasses.replace(OFF, max_dup_paragraph_char_fraction=0.2)
    verdict = gopher_repetition(text, rules)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_dup_paragraph_chars"


def test_ngram_fractions_match_the_definition():
    ws = "the cat sat on the cat".split()
    top, dup = ngram_char_fractions(ws, (2, 3), (2, 3))
    assert top[2] == pytest.approx(12 / 17)
    assert top[3] == 0.0  # no 3-gram occurs twice
    assert dup[2] == pytest.approx(12 / 17)
    assert dup[3] == 0.0
    assert ngram_char_fractions([], (2,), (5,)) == ({2: 0.0}, {5: 0.0})
    assert ngram_char_fractions(["a"], (2,), (5,)) == ({2: 0.0}, {5: 0.0})


@pytest.mark.parametrize("repeats,keep", [(2, True), (10, False)])
def test_top_2gram_fraction(repeats, keep):
    # "xxxx yyyy" repeated among distinct words: the top 2-gram has 8 chars x repeats.
    body = []
    for k in range(repeats):
        body += unique_words(3, start=3 * k) + ["xxxx", "yyyy"]
    body += unique_words(30, start=100)
    top, _ = ngram_char_fractions(body, (2,), ())
    rules = dataclasses.replace(OFF, max_top_ngram_char_fraction={2: 0.20})
    assert (top[2] <= 0.2) is keep, top
    verdict = gopher_repetition(" ".join(body), rules)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_top_2gram"


@pytest.mark.parametrize("copies,keep", [(1, True), (2, False)])
def test_duplicate_5gram_fraction(copies, keep):
    phrase = unique_words(6, start=500)  # 6 words = 30 chars
    body = unique_words(40) + phrase * copies  # one copy: nothing repeats
    _, dup = ngram_char_fractions(body, (), (5,))
    rules = dataclasses.replace(OFF, max_dup_ngram_char_fraction={5: 0.15})
    assert (dup[5] <= 0.15) is keep, dup
    verdict = gopher_repetition(" ".join(body), rules)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "gopher_dup_5gram"


def test_default_rules_keep_ordinary_prose():
    text = "\n\n".join(" ".join(unique_words(40, start=40 * i)) + "." for i in range(5))
    assert gopher_repetition(text, GopherRepetitionRules()).keep
    assert gopher_repetition("", GopherRepetitionRules()).keep


def test_quality_with_zero_min_words_keeps_empty_text():
    rules = dataclasses.replace(QUALITY_ONLY, min_words=0, min_stop_words=0)
    assert gopher_quality("", rules).keep
