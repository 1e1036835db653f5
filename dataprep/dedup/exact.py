"""Exact duplicates: a hash of conservatively normalised text.

Normalisation (documented and deliberately conservative, so that only texts a reader would
call identical collide): Unicode NFC; ``\\r\\n`` and ``\\r`` become ``\\n``; trailing whitespace
of every line is removed; leading and trailing blank lines are removed. Case, inner spacing,
indentation and punctuation are kept: they carry meaning (code, poetry, tables), and anything
looser is the near-duplicate stage's job. The key is the 128-bit xxh3 hash of the UTF-8 bytes
(collision probability about n²/2^129: negligible for any corpus).
"""

from __future__ import annotations

import unicodedata

import xxhash


def normalize_for_exact(text: str) -> str:
    """The text exact dedup compares.

    >>> normalize_for_exact("\\n Caf\\u0065\\u0301  \\r\\nbar\\t\\n\\n")
    ' Café\\nbar'
    """
    text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def exact_key(text: str) -> str:
    """Hex key of the normalised text: equal keys mean exact duplicates.

    >>> exact_key("a \\n") == exact_key("a")
    True
    """
    return xxhash.xxh3_128_hexdigest(normalize_for_exact(text).encode("utf-8", "surrogatepass"))
