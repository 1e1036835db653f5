"""Recipe configuration of filters (per source ``filters``) and the quality classifier."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceFilters:
    """Per-source ``filters``. Placeholder until the filter stage lands: accepts no keys."""


@dataclass(frozen=True)
class QualityConfig:
    """Top-level ``quality`` section. Placeholder: accepts no keys."""
