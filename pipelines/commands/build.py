"""``dataprep build RECIPE --out DIR``: read every source into the document store."""

from __future__ import annotations

import logging
import sys
import time

import click

from dataprep.cli import format_table, handle_errors
from dataprep.errors import RecipeError


def check_beam_args(beam_args: tuple[str, ...]) -> list[str]:
    """Arguments after ``--`` go to Beam; each must be an option (``--name=value`` or
    ``--name value``), which catches a stray positional argument given without ``--``."""
    args = list(beam_args)
    if args and not args[0].startswith("-"):
        raise RecipeError(
            "(command line)",
            "Beam options after '--' (e.g. -- --runner=DataflowRunner --project=P)",
            " ".join(args),
        )
    return args


class _QuietBeamImport(logging.Filter):
    """Beam warns at import that optional GCP client libraries are missing; that is expected
    for local runs and says nothing about the user's job."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


def setup_logging(verbose: bool) -> None:
    """Progress lines from dataprep on stderr; Beam's own chatter only with --verbose.
    Call before importing Beam."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr, force=True)
    if not verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_QuietBeamImport())
    for name in ("pipelines", "dataprep", "vocab"):
        logging.getLogger(name).setLevel(logging.INFO)
    if not verbose:
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
        logging.getLogger("root").setLevel(logging.ERROR)


def human_bytes(n: int) -> str:
    """``human_bytes(1536)`` -> ``'1.5 KB'`` (decimal units, as disks and clouds count)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def summary_rows(manifest: dict) -> list[list]:
    """Per-source rows (and a total) for the end-of-build table: counts and kept text size."""
    rows = []
    for name, s in manifest["sources"].items():
        rows.append([name, s["files"], s["read"], s["kept"], sum(s["dropped"].values()), sum(s["rejected"].values()), s["bytes"]])
    if len(rows) > 1:
        rows.append(["total"] + [sum(r[i] for r in rows) for i in range(1, 7)])
    return [r[:6] + [human_bytes(r[6])] for r in rows]


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=False, help="Output folder (local path or any Beam filesystem URL).")
@click.option("--dry-run", is_flag=True, help="Print the resolved recipe and how many files each source matches, then stop.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256), help="Local worker processes.")
@click.option("-v", "--verbose", is_flag=True, help="Show Beam's own log output.")
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
@handle_errors
def build(recipe: str, out_dir: str | None, dry_run: bool, workers: int, verbose: bool, beam_args: tuple[str, ...]) -> None:
    """Read every source of RECIPE into a document store at --out.

    Writes OUT/documents/<source>/part-*.parquet, OUT/rejects/, OUT/samples/ and, last,
    OUT/build-manifest.json. Beam options go after `--`, e.g.
    `dataprep build r.yaml --out gs://b/run -- --runner=DataflowRunner --project=P --region=R`.
    """
    args = check_beam_args(beam_args)
    setup_logging(verbose)
    from dataprep.recipe import dump_yaml, load_recipe, match_sources
    from pipelines.fs import BeamFileSystem

    fs = BeamFileSystem()
    r = load_recipe(recipe, fs=fs, check_paths=False)
    inputs = match_sources(r, fs)
    if dry_run:
        click.echo(dump_yaml(r.to_dict()))
        click.echo(f"fingerprint: {r.fingerprint()}")
        rows = [[s.name, s.kind, len(inputs[s.name]), s.weight] for s in r.sources]
        click.echo(format_table(["source", "kind", "inputs", "weight"], rows))
        return
    if not out_dir:
        raise RecipeError("--out", "an output folder", "nothing", hint="dataprep build RECIPE --out DIR")

    from pipelines.build import build_documents, check_balanced_or_raise

    started = time.time()
    manifest = build_documents(r, out_dir, workers=workers, beam_args=args)
    elapsed = time.time() - started
    click.echo(format_table(["source", "files", "read", "kept", "dropped", "rejected", "text"], summary_rows(manifest)))
    click.echo(f"wrote {out_dir} in {elapsed:.1f} s (fingerprint {manifest['fingerprint'][:12]})")
    check_balanced_or_raise(manifest)
