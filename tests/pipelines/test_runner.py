"""Pipeline options and runner choice (pipelines/runner.py)."""

from __future__ import annotations

import copy
import pickle

import apache_beam as beam
from apache_beam.options.pipeline_options import DebugOptions, PipelineOptions, StandardOptions, TypeOptions
from apache_beam.testing.util import assert_that, equal_to

from pipelines.runner import STATE_SAMPLING_MS, make_pipeline, one_local_worker, pipeline_options, shorten_state_sampling


def test_views_are_built_once_and_share_the_options() -> None:
    opts = pipeline_options(2, ["--experiments=a"])
    assert opts.view_as(TypeOptions) is opts.view_as(TypeOptions)
    opts.view_as(StandardOptions).streaming = True
    assert opts.view_as(StandardOptions).streaming and opts.get_all_options()["streaming"]
    assert opts.view_as(DebugOptions).experiments == ["a"]
    assert opts.get_all_options()["direct_num_workers"] == 2


def test_options_copy_and_pickle_without_their_views() -> None:
    opts = pipeline_options(1, ["--experiments=a"])
    opts.view_as(TypeOptions)
    for clone in (copy.deepcopy(opts), pickle.loads(pickle.dumps(opts))):
        assert "_dataprep_views" not in clone.__dict__
        assert clone.view_as(DebugOptions).experiments == ["a"]
        clone.view_as(DebugOptions).experiments = ["b"]
        assert opts.view_as(DebugOptions).experiments == ["a"]  # the copy has its own options


def test_pipeline_runs_with_cached_views() -> None:
    with make_pipeline(pipeline_options()) as p:
        out = p | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * 2) | beam.CombineGlobally(sum)
        assert_that(out, equal_to([12]))
    assert isinstance(pipeline_options(), PipelineOptions)


def test_one_local_worker() -> None:
    assert one_local_worker(pipeline_options())
    assert not one_local_worker(pipeline_options(2))
    assert not one_local_worker(pipeline_options(1, ["--direct_num_workers=3"]))
    # 0: one worker per core (Beam's FnApiRunner), so the reshuffle is still needed.
    assert not one_local_worker(pipeline_options(1, ["--direct_num_workers=0", "--direct_running_mode=multi_threading"]))
    assert not one_local_worker(pipeline_options(1, ["--runner=PortableRunner"]))


def test_in_process_pipelines_sample_state_often() -> None:
    from apache_beam.runners.worker.statesampler import StateSampler
    from apache_beam.utils.counters import CounterFactory

    make_pipeline(pipeline_options())  # the in-process runner: applies it
    assert StateSampler("x", CounterFactory()).sampling_period_ms == STATE_SAMPLING_MS
    assert shorten_state_sampling()  # applying it again is harmless
    assert StateSampler("x", CounterFactory(), 500).sampling_period_ms == 500  # an explicit period is kept
