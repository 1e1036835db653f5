"""C4's page cleaning (Raffel et al. 2020, section 2.2), after TFDS ``c4_utils.clean_page``.

``c4_clean(text, rules, bad_words)`` returns the cleaned text and a verdict: line rules remove
lines and keep the document; document rules drop it with a reason (``c4_lorem_ipsum``,
``c4_curly_bracket``, ``c4_bad_words``, ``c4_too_few_sentences``, ``c4_empty``). Sentences are counted by
their end marks rather than with NLTK's punkt (which TFDS downloads at run time); every kept line
ends in an end mark, so it counts at least one.
"""

from __future__ import annotations

import re
from typing import Iterable, Pattern

from dataprep.filters.config import C4Rules
from dataprep.records import KEEP, Verdict

END_MARKS = (".", "?", "!", '"')
ELLIPSIS = "..."
POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")
SENTENCE_END = re.compile(r"[.?!]+[\"')\]]*(?=\s|$)")


def bad_words_regex(words: Iterable[str]) -> Pattern[str] | None:
    """A regex matching any of ``words`` (lower case) flanked by non-letters, as TFDS builds it;
    None for an empty list.

    >>> bad_words_regex(["darn"]).search("well, darn it") is not None
    True
    """
    ws = sorted({w.strip().lower() for w in words if w.strip()})
    if not ws:
        return None
    return re.compile(r"(?:[^a-z]|^)(" + "|".join(map(re.escape, ws)) + r")(?:[^a-z]|$)")


def load_bad_words(path: str) -> Pattern[str] | None:
    """Read a bad-words list (one word or phrase per line, UTF-8) into `bad_words_regex`."""
    with open(path, encoding="utf-8") as f:
        return bad_words_regex(f.read().splitlines())


def count_sentences(line: str) -> int:
    """Sentences in a line, counted by end marks (at least 1 for a non-empty line).

    >>> count_sentences("One. Two! Three?")
    3
    """
    return max(1, len(SENTENCE_END.findall(line))) if line else 0


def c4_clean(text: str, rules: C4Rules, bad_words: Pattern[str] | None = None) -> tuple[str, Verdict]:
    """Apply C4's line and page rules to ``text``.

    Returns ``(cleaned_text, KEEP)`` or ``(text, Verdict(False, reason))``.

    >>> from dataprep.filters.config import C4Rules
    >>> page = "Menu\\nThis is a sentence of prose here. And another one.\\nA third sentence is here too."
    >>> c4_clean(page, C4Rules(min_sentences=3))
    ('This is a sentence of prose here. And another one.\\nA third sentence is here too.', Verdict(keep=True, reason=None))
    """
    kept: list[str] = []
    sentences = 0
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if rules.remove_citations:
            line = CITATION.sub("", line)
        if rules.terminal_punctuation and (not line.endswith(END_MARKS) or line.endswith(ELLIPSIS)):
            continue
        tokens = line.split()
        if len(tokens) < rules.min_words_per_line:
            continue
        if max(map(len, tokens), default=0) > rules.max_word_length:
            continue
        lower = line.lower()
        if rules.lorem_ipsum and "lorem ipsum" in lower:
            return text, Verdict(False, "c4_lorem_ipsum")
        if rules.javascript and "javascript" in lower:
            continue
        if rules.curly_bracket and "{" in line:
            return text, Verdict(False, "c4_curly_bracket")
        if rules.policy and any(p in lower for p in POLICY_SUBSTRINGS):
            continue
        if bad_words is not None and bad_words.search(lower):
            return text, Verdict(False, "c4_bad_words")
        sentences += count_sentences(line)
        kept.append(line)
    if sentences < rules.min_sentences:
        return text, Verdict(False, "c4_too_few_sentences")
    if not kept:  # min_sentences 0 and every line removed: never keep an empty document
        return text, Verdict(False, "c4_empty")
    return "\n".join(kept).strip(), KEEP
