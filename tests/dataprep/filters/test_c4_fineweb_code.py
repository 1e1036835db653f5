"""C4, FineWeb and code rules: hand-written documents on both sides of every threshold."""

from __future__ import annotations

import dataclasses

import pytest

from dataprep.filters.c4 import bad_words_regex, c4_clean, count_sentences
from dataprep.filters.code import code_quality
from dataprep.filters.config import C4Rules, CodeRules, FineWebRules
from dataprep.filters.fineweb import fineweb_quality

C4 = C4Rules()
GOOD = [
    "The river rises in the hills above the town.",
    "It flows past the mill and under the old bridge.",
    "Farmers have used its water for three hundred years.",
]


def page(*extra: str) -> str:
    return "\n".join([*GOOD, *extra])


def test_c4_keeps_prose_unchanged():
    text, verdict = c4_clean(page(), C4)
    assert verdict.keep and text == page()


@pytest.mark.parametrize(
    "line,removed",
    [
        ("Home", True),  # no end mark
        ("This line has five words.", False),
        ("Only four words here.", True),  # fewer than 5 words
        ("This line ends in an ellipsis...", True),
        ('He said it was all "fine."', False),  # a closing quote is an end mark
        ("Please enable JavaScript to view the comments.", True),
        ("By using this site you agree to our Terms of Use.", True),
        ("This website uses cookies to improve your experience.", True),
        ("A line with one word that is " + "x" * 1001 + " long.", True),
        ("A line with one word that is " + "x" * 1000 + " long.", False),
    ],
)
def test_c4_line_rules(line, removed):
    text, verdict = c4_clean(page(line), C4)
    assert verdict.keep
    assert (line not in text.split("\n")) is removed


def test_c4_removes_citation_markers():
    text, verdict = c4_clean(page("The bridge was built in 1820.[3] It was rebuilt later.[citation needed]"), C4)
    assert verdict.keep
    assert "The bridge was built in 1820. It was rebuilt later." in text.split("\n")


@pytest.mark.parametrize(
    "line,reason",
    [
        ("Lorem ipsum dolor sit amet, consectetur.", "c4_lorem_ipsum"),
        ("function f() { return 1; } is the code here.", "c4_curly_bracket"),
    ],
)
def test_c4_page_rules(line, reason):
    text, verdict = c4_clean(page(line), C4)
    assert verdict == (False, reason)
    assert text == page(line)  # a dropped document is returned unchanged


def test_c4_page_rules_only_see_kept_lines():
    # A brace on a line already removed (no end mark) does not drop the page, as in TFDS.
    _, verdict = c4_clean(page("var x = {a: 1}"), C4)
    assert verdict.keep


@pytest.mark.parametrize("n_lines,keep", [(2, False), (3, True)])
def test_c4_min_sentences(n_lines, keep):
    text, verdict = c4_clean("\n".join(GOOD[:n_lines]), C4)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "c4_too_few_sentences"


def test_c4_counts_sentences_by_end_marks():
    assert count_sentences("One. Two! Three? Four.") == 4
    assert count_sentences('He said "yes."') == 1
    assert count_sentences("") == 0
    _, verdict = c4_clean("One sentence here is long. Two sentences here are long. Three sentences, all here.", C4)
    assert verdict.keep


def test_c4_bad_words_are_whole_words():
    regex = bad_words_regex(["darn", "heck no"])
    _, verdict = c4_clean(page("Well, darn it all to pieces."), C4, regex)
    assert verdict == (False, "c4_bad_words")
    _, verdict = c4_clean(page("The darning needle was on the table."), C4, regex)
    assert verdict.keep
    assert bad_words_regex([]) is None


def test_c4_switches():
    rules = dataclasses.replace(C4, lorem_ipsum=False, curly_bracket=False, terminal_punctuation=False, min_words_per_line=0, min_sentences=0)
    text, verdict = c4_clean(page("Lorem ipsum dolor sit amet.", "{x}", "Home"), rules)
    assert verdict.keep and "Home" in text and "{x}" in text


# FineWeb. Each document passes the other rules so that only one threshold is in play.
LONG = "This is a complete sentence of ordinary prose that is long enough."


@pytest.mark.parametrize("punct_lines,keep", [(12, False), (13, True)])
def test_fineweb_line_punctuation(punct_lines, keep):
    # 100 lines: punct_lines end with a period, the rest with a word; ratio <= 0.12 drops.
    lines = [f"{LONG[:-1]} number {i}{'.' if i < punct_lines else ''}" for i in range(100)]
    verdict = fineweb_quality("\n".join(lines), FineWebRules())
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "fineweb_line_punct"


@pytest.mark.parametrize("short,keep", [(66, True), (67, False)])
def test_fineweb_short_lines(short, keep):
    lines = [f"Short {i}." if i < short else f"{LONG} {i}." for i in range(100)]
    rules = dataclasses.replace(FineWebRules(), max_newline_word_ratio=1.0)
    verdict = fineweb_quality("\n".join(lines), rules)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "fineweb_short_lines"


@pytest.mark.parametrize("n_lines,keep", [(60, True), (30, False)])
def test_fineweb_duplicated_line_chars(n_lines, keep):
    repeated = "Subscribe to our newsletter today."
    lines = [f"{LONG} Line {i}." for i in range(n_lines)] + [repeated] * 2
    text = "\n".join(lines)
    frac = len(repeated) / (len(text) - text.count("\n"))
    assert (frac < 0.01) is keep, frac
    verdict = fineweb_quality(text, FineWebRules())
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "fineweb_dup_line_chars"


@pytest.mark.parametrize("words_per_line,keep", [(3, False), (4, True)])
def test_fineweb_list_ratio(words_per_line, keep):
    # n lines of k words: (n - 1) newlines per n * k words; > 0.3 drops.
    vocab = "alpha beta gamma delta epsilon zeta eta theta".split()
    lines = [" ".join(f"{vocab[j]}{i}" for j in range(words_per_line)) + "." for i in range(40)]
    rules = dataclasses.replace(FineWebRules(), short_line_length=0)
    verdict = fineweb_quality("\n".join(lines), rules)
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "fineweb_list_ratio"


# Code.
CODE = "def add(a, b):\n    return a + b\n"


def test_code_keeps_ordinary_source():
    assert code_quality(CODE, CodeRules()).keep


@pytest.mark.parametrize("length,keep", [(1000, True), (1001, False)])
def test_code_max_line_length(length, keep):
    text = CODE * 20 + "x = '" + "a" * (length - 6) + "'\n"
    assert max(map(len, text.split("\n"))) == length
    verdict = code_quality(text, CodeRules())
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "code_max_line_length"


@pytest.mark.parametrize("length,keep", [(100, True), (101, False)])
def test_code_mean_line_length(length, keep):
    text = "\n".join(["a" * length] * 10)  # 10 lines, no trailing newline: mean == length
    verdict = code_quality(text, CodeRules())
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "code_mean_line_length"


@pytest.mark.parametrize("alnum,keep", [(25, True), (24, False)])
def test_code_alnum_fraction(alnum, keep):
    text = "a" * alnum + "=" * (100 - alnum)
    verdict = code_quality(text, CodeRules())
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "code_alnum_fraction"


@pytest.mark.parametrize("line_no,keep", [(4, False), (5, True)])
def test_code_autogenerated_marker_in_first_lines(line_no, keep):
    lines = [f"x{i} = {i}" for i in range(10)]
    lines[line_no] = "# This file is AUTOGENERATED by the build. Do not edit."
    verdict = code_quality("\n".join(lines), CodeRules())
    assert verdict.keep is keep
    if not keep:
        assert verdict.reason == "code_autogenerated"


def test_c4_never_keeps_an_empty_document():
    rules = dataclasses.replace(C4, min_sentences=0)
    assert c4_clean("Home\nAbout us\nContact", rules) == ("Home\nAbout us\nContact", (False, "c4_empty"))
