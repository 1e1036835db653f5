"""JSON Lines, shared by the readers that take it (dialogue, wiki articles)."""

from __future__ import annotations

import json
from typing import Any, BinaryIO, Iterator

from dataprep.fs import DECOMPRESSION_ERRORS
from dataprep.records import Rejected


def json_lines(stream: BinaryIO, rel: str, source: str) -> Iterator[tuple[int, Any] | Rejected]:
    """``(line index, parsed value)`` for every non-blank line of a JSONL stream.

    A line that is not UTF-8 becomes ``Rejected(..., "undecodable")``, one that is not JSON
    ``Rejected(..., "malformed_json")``, and reading goes on. A cut in a compressed stream ends it
    with ``Rejected(..., "truncated_input")`` at the line after the last one read.
    """
    position = -1  # so that a cut before the first line reports line 0
    try:
        for position, line in enumerate(stream):
            if not line.strip():
                continue  # a blank line is no record (as in the text reader)
            try:
                value = json.loads(line)
            except UnicodeDecodeError as e:
                yield Rejected(source, rel, position, "undecodable", str(e))
                continue
            except ValueError as e:
                yield Rejected(source, rel, position, "malformed_json", str(e))
                continue
            yield position, value
    except DECOMPRESSION_ERRORS as e:
        yield Rejected(source, rel, position + 1, "truncated_input", f"{type(e).__name__}: {e}")
