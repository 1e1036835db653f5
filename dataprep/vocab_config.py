"""Recipe configuration of the vocabulary (recipe section ``vocab``).

Lives in the core (not in ``vocab/``) because the recipe is validated before anything runs and
the core imports neither ``vocab`` nor ``pipelines``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VocabConfig:
    """Placeholder until the vocab stage lands: accepts no keys."""
