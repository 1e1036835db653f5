"""The records that flow through every stage.

`Document` is the one record of the whole pipeline (after datatrove's): immutable, with a stable
`id` derived from source, file and position so every output row traces back to its input.
Readers also yield `Dropped` (a record deliberately skipped, with a reason: a redirect, a
non-HTML response, a copyleft file) and `Rejected` (a record that could not be read: malformed
JSON, invalid bytes, a truncated archive). Every record read is exactly one of the three, which is
what lets each stage balance its account: read = kept + dropped + rejected.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union


class Document(NamedTuple):
    """One document: ``id`` is stable and unique, ``meta`` holds provenance under fixed keys.

    Fixed meta keys: ``file`` (path relative to the source root), ``position`` (record index,
    byte offset, line number or archive member), plus kind-specific keys (``url``, ``date``,
    ``title``, ``page_id``, ``repo``, ``path``, ``language``, ``license``...).
    Treat as immutable: derive new documents with ``doc._replace(text=...)``.
    """

    id: str
    source: str
    text: str
    meta: dict[str, Any]


class Dropped(NamedTuple):
    """A record read and deliberately not kept. ``reason`` is a snake_case counter suffix."""

    id: str
    source: str
    reason: str
    file: str
    position: Any


class Rejected(NamedTuple):
    """A record that could not be read. Written to ``rejects/`` with its reason and detail."""

    source: str
    file: str
    position: Any
    reason: str
    detail: str


class Pending(NamedTuple):
    """A record read but not yet parsed. A reader whose per-record work is costly (HTML
    extraction) yields these when asked to ``defer``, so the pipeline can spread that work over
    all workers after a reshuffle instead of leaving it on the worker that holds the file. The
    kind's ``finish(pending, options)`` turns one into a `Document`, `Dropped` or `Rejected`.
    ``data`` is whatever ``finish`` needs, and must be picklable."""

    id: str
    source: str
    data: Any


class Verdict(NamedTuple):
    """A filter's answer: keep, or drop with a reason (``Verdict(False, "too_short")``)."""

    keep: bool
    reason: str | None = None


KEEP = Verdict(True, None)

ReadResult = Union[Document, Dropped, Rejected]


def make_id(source: str, file: str, position: object) -> str:
    """Stable document id from provenance.

    >>> make_id("web", "crawl/a.warc.gz", 3)
    'web/crawl/a.warc.gz#3'
    """
    return f"{source}/{file}#{position}"
