"""Which Beam runner a pipeline gets: the in-process one by default, or whatever the user's Beam
options name. Every stage (build, dedup, shards) builds its pipeline here."""

from __future__ import annotations

from typing import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions


def pipeline_options(workers: int = 1, beam_args: Sequence[str] = ()) -> PipelineOptions:
    """Beam options: the in-process runner by default; ``workers > 1`` runs that many local
    worker processes; ``beam_args`` (everything after ``--`` on the command line) pass through
    unchanged, e.g. ``--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/t``.
    """
    args = list(beam_args)
    if workers > 1 and not any(a.startswith("--direct_num_workers") for a in args):
        args += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    return PipelineOptions(args)


def make_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A pipeline on the runner the options name, or Beam's in-process `FnApiRunner` when they
    name none (the plain DirectRunner may try to download the Prism binary first)."""
    if options.view_as(StandardOptions).runner is None:
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)
