"""Beam pipelines for transform-level tests, on the in-process runner.

Why not plain ``TestPipeline()``: its default DirectRunner first tries Beam's Prism runner, which
downloads a Go binary from GitHub (a network call in a unit test; the tests would run on Prism
wherever the download succeeds and on the in-process runner elsewhere) and leaves a
``/tmp/beam-temp*`` folder behind each time.
"""

from __future__ import annotations

from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline


def in_process_pipeline() -> TestPipeline:
    """A `TestPipeline` on Beam's in-process `FnApiRunner` (runs and checks its asserts on exit)."""
    return TestPipeline(runner=FnApiRunner())
