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
        shorten_state_sampling()
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)


def one_local_worker(options: PipelineOptions) -> bool:
    """True when ``options`` run the pipeline on the in-process runner with a single worker,
    where a reshuffle (whose only job is to spread elements over workers) is pure cost.
    ``--direct_num_workers=0`` means one worker per core to that runner, so it is not one."""
    workers = options.view_as(DirectOptions).direct_num_workers
    return options.view_as(StandardOptions).runner is None and workers in (None, 1)


# How often Beam's state sampler wakes up on the in-process runner (Beam's default: 200 ms).
STATE_SAMPLING_MS = 10


def shorten_state_sampling() -> bool:
    """Make Beam's state sampler sleep at most `STATE_SAMPLING_MS` between samples, in this
    process (the in-process runner's worker); returns whether it applied.

    Why: every bundle starts a sampler thread and, when the bundle ends, waits for that thread
    to wake up from its sleep, which grows to Beam's 200 ms sampling period within a second of
    a bundle's start: each long bundle (reading and tokenizing, packing, writing) then waits
    100 ms on average, doing nothing. On the shards benchmark (14 M tokens) that was 0.19 s of
    a 2.9 s run. Waking every 10 ms costs the sampler thread a few microseconds each time.
    Beam has no option for the period, so this changes the default argument of its
    ``StateSampler`` (left alone if that no longer has Beam's documented default).
    """
    from apache_beam.runners.worker import statesampler

    init = getattr(statesampler.StateSampler, "__init__", None)
    default = getattr(statesampler, "DEFAULT_SAMPLING_PERIOD_MS", None)
    if init is None or init.__defaults__ not in ((default,), (STATE_SAMPLING_MS,)):
        return False
    init.__defaults__ = (STATE_SAMPLING_MS,)
    return True
