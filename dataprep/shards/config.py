"""Recipe configuration of the shards stage (recipe section ``shards``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShardsConfig:
    """Placeholder until the shards stage lands: accepts no keys."""
