"""Source readers: one module per kind, each bytes in, `ReadResult`s out, no Beam.

Every reader module exposes:

- ``Options``: a frozen dataclass of the kind-specific recipe keys (flat in the source's
  mapping), validated on construction;
- ``read(fs, path, ctx) -> Iterator[ReadResult]``: stream one input unit (a file; for ``code`` a
  repository folder or archive) and yield a `Document`, `Dropped` or `Rejected` for every record,
  so the stage can account for all of them. Memory must not grow with the file's size.

A reader whose per-record work is costly may also accept ``read(..., defer=True)``, yielding
`Pending` records in place of that work, and expose ``finish(pending, options) -> ReadResult``
to do it; the build then reshuffles pending records over all workers before finishing them, so
one large file does not keep one worker busy while the others idle.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, NamedTuple

KINDS: dict[str, str] = {
    "web": "dataprep.sources.web",
    "books": "dataprep.sources.books",
    "wiki": "dataprep.sources.wiki",
    "dialogue": "dataprep.sources.dialogue",
    "code": "dataprep.sources.code",
    "text": "dataprep.sources.text",
}


class ReadContext(NamedTuple):
    """What a reader needs besides the file: the source's name, the root its relative paths
    (and so its document ids) are taken from, and the kind's validated options."""

    source: str
    root: str
    options: Any


def reader_module(kind: str) -> ModuleType:
    """The reader module for ``kind`` (one of `KINDS`)."""
    return importlib.import_module(KINDS[kind])
