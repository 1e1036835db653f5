"""Language identification with py3langid (Lui & Baldwin's langid.py, 97 languages, its model
shipped inside the wheel: nothing is downloaded at run time).

Chosen by measurement on this machine (``docs/filters.md``): on 3,000 Wikipedia lead sections
(en/fr/es) py3langid is 99.1% accurate at 2.8 MB/s per core; lingua-language-detector (all
languages) is 97.9% accurate at 0.08 MB/s cold and 0.67 MB/s warm. fastText's lid.176 would
need a model download.
"""

from __future__ import annotations

from typing import Any


def load_identifier() -> Any:
    """py3langid's identifier with normalised probabilities (about 0.8 s: load once per worker)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(identifier: Any, text: str, max_chars: int = 10_000) -> tuple[str, float]:
    """``(ISO 639-1 code, probability)`` of the first ``max_chars`` characters of ``text``.

    The probability is rounded to 4 decimals so that meta is byte-stable across platforms.
    """
    lang, prob = identifier.classify(text[:max_chars])
    return str(lang), round(float(prob), 4)
