"""Shared fixtures. Integration tests use the real corpora at ``../shared/corpora``: they skip
with a reason when the folder is absent, except in CI (``CI`` set), where absence is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("DATAPREP_CORPORA", REPO.parent / "shared" / "corpora"))


@pytest.fixture(scope="session")
def corpora() -> Path:
    """Path of the shared real corpora; skips (or fails in CI) when absent."""
    if not CORPORA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared corpora not found at {CORPORA}: CI must run with ../shared beside the clone")
        pytest.skip(f"shared corpora not found at {CORPORA} (set DATAPREP_CORPORA or put ../shared beside the repo)")
    return CORPORA
