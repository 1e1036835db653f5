"""Counting every record through every stage, and the build manifest assembled from the counts.

Stages emit flat counters keyed ``(source, stage, field)``: fields are ``in``, ``out``,
``dropped:<reason>``, ``rejected:<reason>`` and sums such as ``files``, ``input_bytes``,
``bytes`` and ``chars``. `summarize` turns them into the per-source account of the manifest and
checks that every stage balances: in = out + dropped + rejected, and that each stage's input is
the previous stage's output.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping

StatKey = tuple[str, str, str]

# Stage order of the build; a stage absent from the counters (e.g. dedup disabled) is skipped.
BUILD_STAGES = ("read", "normalize", "filter", "exact_dedup", "near_dedup")


def sum_counts(pairs: Iterable[tuple[StatKey, int]]) -> dict[StatKey, int]:
    """Sum ``(key, n)`` counts (as the stages emit them, once per bundle) into one mapping."""
    total: Counter = Counter()
    for key, n in pairs:
        total[tuple(key)] += n
    return dict(total)


def summarize(stats: Mapping[StatKey, int], sources: Iterable[str], stages: Iterable[str] = BUILD_STAGES) -> dict[str, Any]:
    """Per-source account from flat counters.

    Returns ``{source: {read, kept, dropped: {reason: n}, rejected: {reason: n}, files,
    input_bytes, bytes, chars, stages: [{stage, in, out, dropped, rejected}], balanced}}``.
    """
    out: dict[str, Any] = {}
    stages = list(stages)
    for source in sorted(sources):
        rows = []
        dropped: Counter = Counter()
        rejected: Counter = Counter()
        balanced = True
        previous_out = None
        for stage in stages:
            fields = {f: n for (s, st, f), n in stats.items() if s == source and st == stage}
            if not fields:
                continue
            st_dropped = {f.split(":", 1)[1]: n for f, n in fields.items() if f.startswith("dropped:")}
            st_rejected = {f.split(":", 1)[1]: n for f, n in fields.items() if f.startswith("rejected:")}
            n_in, n_out = fields.get("in", 0), fields.get("out", 0)
            ok = n_in == n_out + sum(st_dropped.values()) + sum(st_rejected.values())
            if previous_out is not None and n_in != previous_out:
                ok = False
            balanced &= ok
            previous_out = n_out
            dropped.update(st_dropped)
            rejected.update(st_rejected)
            rows.append(
                {
                    "stage": stage,
                    "in": n_in,
                    "out": n_out,
                    "dropped": dict(sorted(st_dropped.items())),
                    "rejected": dict(sorted(st_rejected.items())),
                    "balanced": ok,
                }
            )
        read = rows[0]["in"] if rows else 0
        kept = rows[-1]["out"] if rows else 0
        balanced &= read == kept + sum(dropped.values()) + sum(rejected.values())

        def total(field: str, stage: str) -> int:
            return int(stats.get((source, stage, field), 0))

        out[source] = {
            "files": total("files", "read"),
            "input_bytes": total("input_bytes", "read"),
            "read": read,
            "kept": kept,
            "dropped": dict(sorted(dropped.items())),
            "rejected": dict(sorted(rejected.items())),
            "bytes": total("bytes", "write"),
            "chars": total("chars", "write"),
            "stages": rows,
            "balanced": balanced,
        }
    return out
