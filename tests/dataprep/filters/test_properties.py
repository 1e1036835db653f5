"""Property tests: every rule takes any Unicode text without crashing and stays in its bounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dataprep.filters.c4 import c4_clean
from dataprep.filters.classifier import chunks
from dataprep.filters.code import code_quality
from dataprep.filters.config import C4Rules, CodeRules, FineWebRules, GopherQualityRules, GopherRepetitionRules
from dataprep.filters.fineweb import fineweb_quality
from dataprep.filters.gopher import gopher_quality, gopher_repetition, ngram_char_fractions, words

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400) | st.lists(
    st.sampled_from(["the", "cat", "sat", ".", "\n", "\n\n", "...", "#", "• ", "{", "한국어", "😀", " "]), max_size=200
).map("".join)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_rules_accept_any_text(text):
    for verdict in (
        gopher_quality(text, GopherQualityRules()),
        gopher_repetition(text, GopherRepetitionRules()),
        fineweb_quality(text, FineWebRules()),
        code_quality(text, CodeRules()),
    ):
        assert verdict.keep or (isinstance(verdict.reason, str) and verdict.reason)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_c4_only_removes_lines(text):
    cleaned, verdict = c4_clean(text, C4Rules(min_sentences=0, remove_citations=False))
    assert verdict.keep or verdict.reason.startswith("c4_")
    if verdict.keep:
        originals = {line.strip() for line in text.split("\n")}
        assert all(line in originals for line in cleaned.split("\n") if line)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_ngram_fractions_are_fractions(text):
    top, dup = ngram_char_fractions(words(text), (2, 3, 4), (5, 6, 10))
    assert all(0.0 <= v <= 1.0 for v in [*top.values(), *dup.values()])


@settings(max_examples=200, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=50))
def test_chunks_concatenate_to_the_text(text, size):
    assert "".join(chunks(text, size)) == text
