"""FineWeb's custom quality filters (Penedo et al. 2024; datatrove ``FineWebQualityFilter``).

``fineweb_quality(text, rules)`` returns `KEEP` or a verdict with reason ``fineweb_line_punct``,
``fineweb_short_lines``, ``fineweb_dup_line_chars`` or ``fineweb_list_ratio``.
"""

from __future__ import annotations

from dataprep.filters.config import FineWebRules
from dataprep.filters.gopher import duplicate_stats, words
from dataprep.records import KEEP, Verdict

STOP_CHARS = (".", "'", '"', "!", "?")


def fineweb_quality(text: str, rules: FineWebRules) -> Verdict:
    """Apply FineWeb's line-punctuation, short-line, duplicated-line and list rules.

    >>> from dataprep.filters.config import FineWebRules
    >>> fineweb_quality("Home\\nAbout\\nContact\\nBlog", FineWebRules())
    Verdict(keep=False, reason='fineweb_line_punct')
    """
    lines = text.split("\n")
    ratio = sum(1 for line in lines if line.rstrip().endswith(STOP_CHARS)) / len(lines)
    if ratio <= rules.min_line_punct_ratio:
        return Verdict(False, "fineweb_line_punct")
    ratio = sum(1 for line in lines if len(line) <= rules.short_line_length) / len(lines)
    if ratio >= rules.max_short_line_ratio:
        return Verdict(False, "fineweb_short_lines")
    non_empty = [line for line in lines if line.strip()]
    chars = len(text) - text.count("\n")
    if chars and duplicate_stats(non_empty)[1] / chars >= rules.max_dup_line_char_ratio:
        return Verdict(False, "fineweb_dup_line_chars")
    n_words = len(words(text))
    if text.count("\n") / max(n_words, 1) > rules.max_newline_word_ratio:
        return Verdict(False, "fineweb_list_ratio")
    return KEEP
