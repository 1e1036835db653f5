"""Text normalisation policy of the build, applied to every document before filtering.

What it does, and why only this:
- strips a leading byte-order mark (U+FEFF): an encoding artefact, not content;
- makes newlines consistent: CRLF and lone CR become LF (Windows and old-Mac files would
  otherwise teach the vocabulary three spellings of one line break);
- replaces lone surrogates (from JSON ``\\ud83d`` escapes) with U+FFFD, counting them in
  ``meta["replaced_surrogates"]``: such strings cannot be written as UTF-8 at all.

What it deliberately does not do: no Unicode normalisation (NFKC folds characters, and even NFC
changes code and some scripts), no whitespace collapsing or trimming (indentation is syntax in
code and shape in poetry), no case folding. Everything else is the job of filters, which drop
with a reason instead of silently rewriting.
"""

from __future__ import annotations

import re

from dataprep.records import KEEP, Document, Verdict

_SURROGATE = re.compile("[\ud800-\udfff]")


def normalize_text(text: str) -> tuple[str, int]:
    """Apply the policy above. Returns the text and the number of lone surrogates replaced.

    >>> normalize_text("\\ufeffa\\r\\nb\\rc")
    ('a\\nb\\nc', 0)
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    replaced = 0
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text, replaced = _SURROGATE.subn("\ufffd", text)
    return text, replaced


def normalize_document(doc: Document) -> Document:
    """`normalize_text` on a document; meta gains ``replaced_surrogates`` when any were fixed."""
    text, replaced = normalize_text(doc.text)
    if text is doc.text and not replaced:
        return doc
    meta = dict(doc.meta, replaced_surrogates=replaced) if replaced else doc.meta
    return doc._replace(text=text, meta=meta)


def check_length(text: str, min_chars: int, max_chars: int) -> Verdict:
    """Drop empty (whitespace only), too-short and too-long documents.

    >>> check_length("   ", 1, 10)
    Verdict(keep=False, reason='empty')
    >>> check_length("abc", 5, 10)
    Verdict(keep=False, reason='too_short')
    """
    n = len(text)
    if n == 0 or text.isspace():
        return Verdict(False, "empty")
    if n < min_chars:
        return Verdict(False, "too_short")
    if n > max_chars:
        return Verdict(False, "too_long")
    return KEEP
