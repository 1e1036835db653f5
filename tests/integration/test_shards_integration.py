"""`dataprep run` over the shared real corpora with PaLM's mixture (Table 2): realised shares
within 0.5 percentage points, the small news source repeated its expected epochs, every shard
verifying, both formats read back, a rerun skipping every stage, and a run killed in the middle
of the shards stage resuming to byte-identical output."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dataprep.recipe import load_recipe
from dataprep.shards.formats import read_megatron, read_parquet_shard
from dataprep.shards.verify import verify_shards

pytestmark = pytest.mark.integration

PALM = {"dialogue": 0.50, "web": 0.27, "books": 0.13, "code": 0.05, "wiki": 0.04, "news": 0.01}
TOTAL = 16_000_000


def write_recipe(path: Path, corpora: Path) -> Path:
    c = corpora
    path.write_text(
        f"""name: palm-corpora
seed: 0
sources:
  - {{name: dialogue, kind: dialogue, paths: [{c}/dialogue/chitchat.jsonl.gz], weight: 0.50}}
  - {{name: web, kind: web, paths: [{c}/web/debian-reference.warc.gz], weight: 0.27}}
  - {{name: books, kind: books, paths: [{c}/books/jargon.txt, {c}/books/milton/*, {c}/books/austen/*], weight: 0.13}}
  - {{name: code, kind: code, paths: [{c}/code/cpython-3.11-Lib], weight: 0.05}}
  - {{name: wiki, kind: wiki, paths: [{c}/wiki/summaries-en-us.jsonl.gz], weight: 0.04}}
  - {{name: news, kind: text, paths: [{c}/news/lee_background.txt], unit: line, weight: 0.01}}
vocab: {{size: 8000, sample_chars: 3000000}}
shards: {{total_tokens: {TOTAL}, sequence_length: 2048, shard_tokens: 3000000, max_piece_chars: 20000}}
"""
    )
    return path


@pytest.fixture(scope="module")
def palm_run(corpora, tmp_path_factory):
    from pipelines.commands.run import run_all

    base = tmp_path_factory.mktemp("palm")
    recipe_path = write_recipe(base / "recipe.yaml", corpora)
    out = str(base / "out")
    result = run_all(load_recipe(str(recipe_path)), out)
    return recipe_path, out, result


def test_realised_shares_match_palm_weights(palm_run) -> None:
    _, _, result = palm_run
    m = result["shards"]
    assert [s for s, status, _ in result["stages"] if status == "ran"] == ["build", "vocab", "shards"]
    for name, weight in PALM.items():
        assert abs(m["sources"][name]["realised_share"] - weight) < 0.005, (name, m["sources"][name])
    written = sum(sum(s["realised_tokens"].values()) for s in m["sources"].values())
    assert abs(written - TOTAL) / TOTAL < 0.01


def test_news_repeats_its_expected_epochs(palm_run) -> None:
    _, _, result = palm_run
    news = result["shards"]["sources"]["news"]
    expected = 0.01 * TOTAL / news["available_tokens"]
    assert expected > 1.5  # the budget is set so the small source repeats
    assert news["full_epochs"] == int(expected)
    assert news["epochs"] == pytest.approx(expected, rel=0.02)


def test_every_shard_verifies_and_documents_decode_exactly(palm_run) -> None:
    from vocab.model import Vocab

    _, out, _ = palm_run
    checks = verify_shards(out, Vocab.load(os.path.join(out, "vocab")), sample=200)
    assert all(c.ok for c in checks), checks
    assert "200/200" in checks[-1].detail


def test_megatron_and_parquet_hold_the_same_tokens(palm_run) -> None:
    _, out, result = palm_run
    shard = result["shards"]["shards"][0]
    base = os.path.join(out, "shards")
    p = read_parquet_shard(os.path.join(base, shard["files"]["parquet"]["path"]))
    m = read_megatron(os.path.join(base, shard["files"]["megatron_bin"]["path"]), os.path.join(base, shard["files"]["megatron_idx"]["path"]))
    assert np.array_equal(p.tokens, m.tokens) and set(p.lengths.tolist()) == {2048}


def test_rerun_skips_every_stage(palm_run) -> None:
    from pipelines.commands.run import run_all

    recipe_path, out, result = palm_run
    again = run_all(load_recipe(str(recipe_path)), out)
    assert [status for _, status, _ in again["stages"]] == ["skipped"] * 3
    assert again["shards"] == result["shards"]


def test_killed_run_resumes_to_identical_output(palm_run, tmp_path) -> None:
    recipe_path, out, result = palm_run
    run_dir = tmp_path / "resumed"
    # Start from the finished build and vocabulary, so the kill lands inside the shards stage.
    shutil.copytree(out, run_dir, ignore=shutil.ignore_patterns("shards"))
    cmd = [sys.executable, "-c", "from dataprep.cli import main; main()", "run", str(recipe_path), "--out", str(run_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = run_dir / ".shards.partial"
    deadline = time.time() + 120
    # Kill once the stage has written its first file (a spill file, as tokenizing starts): the
    # rest of the stage (tokenize, plan, pack, write) is left, so the kill lands midway even on
    # a fast machine (waiting for the first shard instead raced the end of the run).
    while not any(p.is_file() for p in partial.rglob("*")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert killed, "the run finished before it could be killed"
    # Killed mid-stage: no shards folder (or a complete one), never a manifest for partial files.
    assert not (run_dir / "shards" / "manifest.json").exists()
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for shard in result["shards"]["shards"]:
        for f in shard["files"].values():
            a = (Path(out) / "shards" / f["path"]).read_bytes()
            b = (run_dir / "shards" / f["path"]).read_bytes()
            assert a == b, f["path"]
    assert (Path(out) / "shards" / "manifest.json").read_bytes() == (run_dir / "shards" / "manifest.json").read_bytes()


def test_portable_job_api_writes_identical_shards(palm_run, tmp_path) -> None:
    """The shards stage through Beam's portable job API (an embedded job server and loopback
    workers: the path a Flink or Spark submission takes) writes the same bytes as the in-process
    runner: no side channel between stages but the run folder."""
    from pipelines.shards import write_shards

    recipe_path, out, result = palm_run
    run_dir = tmp_path / "portable"
    shutil.copytree(out, run_dir, ignore=shutil.ignore_patterns("shards"))
    beam_args = ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"]
    manifest = write_shards(load_recipe(str(recipe_path)), str(run_dir), beam_args=beam_args)
    assert manifest == result["shards"]
    for shard in result["shards"]["shards"]:
        for f in shard["files"].values():
            assert (Path(out) / "shards" / f["path"]).read_bytes() == (run_dir / "shards" / f["path"]).read_bytes(), f["path"]
