"""Which Beam runner a pipeline gets: the in-process one by default, or whatever the user's Beam
options name. Every stage (build, dedup, shards) builds its pipeline here."""

from __future__ import annotations

from typing import Any, Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

# Imported with this module, not on the first run: every stage runs here by default.
from apache_beam.runners.portability.fn_api_runner import FnApiRunner


class _Options(PipelineOptions):
    """`PipelineOptions` that build each view (`view_as`) once.

    Why: Beam 2.77 builds a new view on every call, parsing every registered option with
    argparse (several ms each), and calls it several times per transform applied (type-check
    settings). On the shards stage that was 60% of the time to build the pipeline (~0.5 s of
    CPU per run). A cached view is the same as a new one: views keep no state of their own,
    reading and writing the options' shared ``_all_options``. The cache is never pickled.
    """

    def view_as(self, cls: type[Any]) -> Any:
        views = self.__dict__.get("_dataprep_views")
        if views is None:
            views = {}
            object.__setattr__(self, "_dataprep_views", views)  # PipelineOptions.__setattr__ refuses it
        view = views.get(cls)
        if view is None:
            view = views[cls] = super().view_as(cls)
        return view

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_dataprep_views", None)
        return state


def pipeline_options(workers: int = 1, beam_args: Sequence[str] = ()) -> PipelineOptions:
    """Beam options: the in-process runner by default; ``workers > 1`` runs that many local
    worker processes; ``beam_args`` (everything after ``--`` on the command line) pass through
    unchanged, e.g. ``--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/t``.
    """
    args = list(beam_args)
    if workers > 1 and not any(a.startswith("--direct_num_workers") for a in args):
        args += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    return _Options(args)


def make_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A pipeline on the runner the options name, or Beam's in-process `FnApiRunner` when they
    name none (the plain DirectRunner may try to download the Prism binary first)."""
    if options.view_as(StandardOptions).runner is None:
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)


def one_local_worker(options: PipelineOptions) -> bool:
    """True when ``options`` run the pipeline on the in-process runner with a single worker,
    where a reshuffle (whose only job is to spread elements over workers) is pure cost."""
    workers = options.view_as(DirectOptions).direct_num_workers or 1
    return options.view_as(StandardOptions).runner is None and workers <= 1
