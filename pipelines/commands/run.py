"""``dataprep run RECIPE --out DIR``: build, vocabulary and shards in one command.

Each stage is skipped when its output already has a complete manifest for the same inputs, so a
run interrupted anywhere resumes where it stopped when started again:

- build: ``DIR/build-manifest.json`` exists with the recipe's build fingerprint;
- vocab: ``DIR/vocab/vocab.json`` matches the recipe and the build manifest (``train_vocab``
  decides this itself);
- shards: ``DIR/shards/manifest.json`` matches the recipe, the build manifest's checksum and the
  vocabulary's checksum, and every file it lists is present.

Because each stage writes its outputs atomically and its manifest last (and the shards stage
swaps a finished folder into place), an interrupted stage leaves no manifest and is redone from
scratch; every stage is deterministic, so the resumed run's output is byte-identical to an
uninterrupted one.

``DIR`` may be on any Beam filesystem (``gs://bucket/run``, ``s3://...``): the build and shards
stages write through Beam; the vocabulary stage reads the store through
`pipelines.fs.BeamFileSystem`, trains SentencePiece in this process and writes ``DIR/vocab/``
through `BeamFileWriter`; every freshness check reads through the same filesystem.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import click

from dataprep.cli import format_table, handle_errors
from dataprep.errors import FormatError

log = logging.getLogger("pipelines.run")


def build_is_current(recipe: Any, out_dir: str) -> bool:
    """True when ``out_dir`` holds a completed build for this recipe's build fingerprint."""
    from pipelines.build import build_fingerprint, read_build_manifest

    try:
        return read_build_manifest(out_dir).get("fingerprint") == build_fingerprint(recipe)
    except FormatError:
        return False


def run_all(
    recipe: Any,
    out_dir: str,
    *,
    workers: int = 1,
    beam_args: tuple[str, ...] | list[str] = (),
    force: bool = False,
    echo: Callable[[str], None] = log.info,
) -> dict[str, Any]:
    """Run build -> vocab train -> shards on ``out_dir``, skipping up-to-date stages.

    Returns ``{"stages": [(stage, "ran" | "skipped", seconds)], "shards": shards manifest}``.
    """
    from pipelines.build import build_documents
    from pipelines.fs import BeamFileSystem, BeamFileWriter, is_local
    from pipelines.shards import is_current, load_manifest, write_shards
    from vocab.train import train_vocab

    # Local run folders keep the local readers and writers (pyarrow reads parts by path);
    # others are read and written through Beam's filesystems.
    local = is_local(out_dir)
    fs, writer = (None, None) if local else (BeamFileSystem(), BeamFileWriter())

    stages = []
    started = time.time()
    if not force and build_is_current(recipe, out_dir):
        stages.append(("build", "skipped", 0.0))
        echo("build: up to date, skipped")
    else:
        echo("build: running")
        build_documents(recipe, out_dir, workers=workers, beam_args=beam_args)
        stages.append(("build", "ran", time.time() - started))
    t = time.time()
    echo("vocab: checking")
    vocab = train_vocab(recipe, out_dir, force=force, fs=fs, writer=writer)
    stages.append(("vocab", "skipped" if vocab.get("skipped") else "ran", time.time() - t))
    t = time.time()
    if not force and is_current(recipe, out_dir):
        stages.append(("shards", "skipped", 0.0))
        echo("shards: up to date, skipped")
        manifest = load_manifest(out_dir)
    else:
        echo("shards: running")
        manifest = write_shards(recipe, out_dir, workers=workers, beam_args=beam_args)
        stages.append(("shards", "ran", time.time() - t))
    return {"stages": stages, "shards": manifest}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, help="The run folder (documents/, vocab/, shards/ go here): a local path or any Beam filesystem URL (gs://bucket/run).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256), help="Local worker processes.")
@click.option("--force", is_flag=True, help="Redo every stage even when its output is up to date.")
@click.option("-v", "--verbose", is_flag=True, help="Show Beam's own log output.")
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
@handle_errors
def run(recipe: str, out_dir: str, workers: int, force: bool, verbose: bool, beam_args: tuple[str, ...]) -> None:
    """Build the document store, train the vocabulary and write shards for RECIPE into --out.

    A stage whose output is complete for the same recipe is skipped, so running again after an
    interruption resumes. Beam options go after `--`.
    """
    from dataprep.recipe import load_recipe
    from pipelines.commands.build import check_beam_args, setup_logging
    from pipelines.commands.shards import echo_summary

    args = check_beam_args(beam_args)
    setup_logging(verbose)
    r = load_recipe(recipe)
    result = run_all(r, out_dir, workers=workers, beam_args=args, force=force, echo=lambda m: click.echo(m, err=True))
    click.echo(format_table(["stage", "status", "seconds"], [[s, st, round(sec, 1)] for s, st, sec in result["stages"]]))
    click.echo()
    echo_summary(result["shards"])
    click.echo(f"done: {out_dir} (check with `dataprep shards verify {out_dir}`)")


__all__ = ["run", "run_all", "build_is_current"]
