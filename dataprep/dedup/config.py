"""Recipe configuration of the dedup stage (recipe section ``dedup``, and per source)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DedupConfig:
    """Top-level ``dedup`` section. Placeholder until the dedup stage lands: accepts no keys."""


@dataclass(frozen=True)
class SourceDedup:
    """Per-source ``dedup`` overrides. Placeholder: accepts no keys."""
