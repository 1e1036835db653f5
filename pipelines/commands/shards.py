"""``dataprep shards``: write training shards, inspect them, verify them.

    dataprep shards RECIPE --out DIR       # = dataprep shards write RECIPE --out DIR
    dataprep shards inspect DIR
    dataprep shards verify DIR
"""

from __future__ import annotations

import time
from typing import Any

import click

from dataprep.cli import format_table, handle_errors
from dataprep.fs import is_url


class DefaultToWriteGroup(click.Group):
    """A group whose first argument, when it is not a subcommand name, goes to ``write``, so
    ``dataprep shards RECIPE --out DIR`` works alongside ``dataprep shards verify DIR``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["write", *args]
        return super().parse_args(ctx, args)


def source_rows(manifest: dict[str, Any]) -> list[list[Any]]:
    """Per-source accounting rows: available tokens, target and realised share, epochs."""
    rows = []
    for name, s in manifest["sources"].items():
        written = s["realised_tokens"]["train"] + s["realised_tokens"]["validation"]
        rows.append(
            [
                name,
                s["documents"],
                s["pieces"],
                s["available_tokens"],
                round(100 * s["target_share"], 2),
                written,
                round(100 * s["realised_share"], 2),
                round(s["epochs"], 2),
            ]
        )
    return rows


# Sampling is exact to about half a piece per source; beyond half a percentage point the budget
# is too small for the sources' piece sizes, which the user should hear about.
SHARE_TOLERANCE = 0.005

SOURCE_HEADERS = ["source", "documents", "pieces", "available", "target %", "written", "realised %", "epochs"]


def split_rows(manifest: dict[str, Any]) -> list[list[Any]]:
    """Per-split rows: shards, sequences, tokens, padding."""
    return [
        [split, s["shards"], s["pieces"], s["sequences"], s["tokens"], s["padding_tokens"]]
        for split, s in manifest["splits"].items()
    ]


SPLIT_HEADERS = ["split", "shards", "pieces", "sequences", "tokens", "padding"]


def echo_summary(manifest: dict[str, Any]) -> None:
    """Print the per-source and per-split tables of a shards manifest."""
    click.echo(format_table(SOURCE_HEADERS, source_rows(manifest)))
    click.echo()
    click.echo(format_table(SPLIT_HEADERS, split_rows(manifest)))
    b = manifest["budget"]
    click.echo(f"budget: {b['total_tokens']:,} tokens ({b['mode']}); sequence length {manifest['config']['sequence_length']}")
    off = [
        f"{name} {100 * s['realised_share']:.2f}% (target {100 * s['target_share']:.2f}%)"
        for name, s in manifest["sources"].items()
        if abs(s["realised_share"] - s["target_share"]) > SHARE_TOLERANCE
    ]
    if off:
        click.echo(
            "warning: realised shares more than 0.5 points off target: " + ", ".join(off)
            + "; the budget is small next to these sources' documents: raise shards.total_tokens"
            " or lower shards.max_piece_chars",
            err=True,
        )
    if not manifest.get("balanced", True):
        unbalanced = [s for s, v in manifest["sources"].items() if not v.get("balanced", True)]
        click.echo(f"warning: documents tokenized + dropped differ from the store's count for {', '.join(unbalanced)}", err=True)


@click.group(cls=DefaultToWriteGroup, context_settings={"help_option_names": ["-h", "--help"]})
def shards() -> None:
    """Training shards: `dataprep shards RECIPE --out DIR` writes them (mixture by token weight,
    tokenized, shuffled, packed); `inspect DIR` and `verify DIR` read them back."""


@shards.command("write")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, help="The run folder: reads DIR/documents and DIR/vocab, writes DIR/shards.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256), help="Local worker processes.")
@click.option("-v", "--verbose", is_flag=True, help="Show Beam's own log output.")
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
@handle_errors
def write(recipe: str, out_dir: str, workers: int, verbose: bool, beam_args: tuple[str, ...]) -> None:
    """Mix, tokenize, shuffle, pack and write DIR/shards (manifest last). Beam options go after `--`."""
    from dataprep.recipe import load_recipe
    from pipelines.commands.build import check_beam_args, setup_logging
    from pipelines.shards import write_shards

    args = check_beam_args(beam_args)
    setup_logging(verbose)
    r = load_recipe(recipe, check_paths=False)
    started = time.time()
    manifest = write_shards(r, out_dir, workers=workers, beam_args=args)
    echo_summary(manifest)
    click.echo(f"wrote {out_dir}/shards in {time.time() - started:.1f} s")


def _filesystem(*paths: str | None) -> Any:
    """The filesystem to read ``paths`` through: local files as before when all are local, else
    every Beam filesystem (`pipelines.fs.BeamFileSystem` also serves the local ones)."""
    from dataprep.fs import LocalFileSystem

    if not any(p and is_url(p) for p in paths):
        return LocalFileSystem()
    from pipelines.fs import BeamFileSystem

    return BeamFileSystem()


def _vocab(out_dir: str, vocab_path: str | None) -> Any:
    """The vocabulary at ``vocab_path`` (default ``DIR/vocab``), local or on any Beam filesystem."""
    from dataprep.fs import join_path

    path = vocab_path or join_path(out_dir, "vocab")
    if is_url(path):
        from pipelines.shards import load_vocab

        return load_vocab(path)
    from vocab.model import Vocab

    return Vocab.load(path)


@shards.command("inspect")
@click.argument("out_dir", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--samples", default=3, show_default=True, type=click.IntRange(0, 100), help="Decoded sequences to show.")
@click.option("--chars", default=300, show_default=True, type=click.IntRange(1), help="Characters shown per sequence.")
@click.option("--vocab", "vocab_path", default=None, help="Vocabulary (default DIR/vocab).")
@handle_errors
def inspect(out_dir: str, samples: int, chars: int, vocab_path: str | None) -> None:
    """Summarise DIR/shards and decode a few training sequences (end of document shown as ⟨eos⟩).
    DIR may be on any Beam filesystem (gs://, s3://, ...)."""
    from dataprep.shards.verify import inspect_shards

    fs = _filesystem(out_dir)
    report = inspect_shards(out_dir, _vocab(out_dir, vocab_path), samples=samples, chars=chars, fs=fs)
    m = report["manifest"]
    click.echo(f"{m['recipe']}: {len(m['shards'])} shards, vocabulary {m['vocab_size']} ids ({m['token_dtype']}), formats {', '.join(m['config']['formats'])}")
    echo_summary(m)
    for s in report["samples"]:
        click.echo(f"\n--- {s['shard']} sequence {s['sequence']} ---")
        click.echo(s["text"])


@shards.command("verify")
@click.argument("out_dir", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--sample", default=32, show_default=True, type=click.IntRange(1), help="Documents decoded and compared with the store.")
@click.option("--store", "store_dir", default=None, help="Document store folder (default DIR).")
@click.option("--vocab", "vocab_path", default=None, help="Vocabulary (default DIR/vocab).")
@handle_errors
def verify(out_dir: str, sample: int, store_dir: str | None, vocab_path: str | None) -> None:
    """Check DIR/shards: checksums, ids below the vocabulary size, sequence lengths, formats
    agreeing, and sampled documents decoding to their store text exactly. Exit 1 on a failure.
    DIR and --store may be on any Beam filesystem (gs://, s3://, ...)."""
    from dataprep.shards.verify import verify_shards

    fs = _filesystem(out_dir, store_dir)
    checks = verify_shards(out_dir, _vocab(out_dir, vocab_path), sample=sample, store_dir=store_dir, fs=fs)
    click.echo(format_table(["check", "result", "detail"], [[c.name, "ok" if c.ok else "FAIL", c.detail] for c in checks]))
    failed = [c for c in checks if not c.ok]
    if failed:
        raise click.exceptions.Exit(1)
    click.echo(f"{out_dir}/shards verified")


__all__ = ["shards", "write", "inspect", "verify", "DefaultToWriteGroup"]
