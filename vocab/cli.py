"""``dataprep vocab``: train, verify, evaluate and export the SentencePiece vocabulary.

Each command loads its inputs and calls one library function; nothing here imports Beam.
"""

from __future__ import annotations

import os
import sys

import click

from dataprep.cli import format_table, handle_errors
from dataprep.errors import FormatError


def _store_for(directory: str, vocab_folder: str, given: str | None) -> str:
    """The document store: ``--input``, else ``DIR`` itself, else the run folder above the vocab."""
    if given:
        return given
    for candidate in (directory, os.path.dirname(os.path.abspath(vocab_folder))):
        if os.path.isdir(os.path.join(candidate, "documents")):
            return candidate
    raise FormatError(
        f"{directory}: no document store found (expected {directory}/documents/); "
        "run `dataprep build RECIPE --out DIR` first, or pass --input STORE"
    )


@click.group()
def vocab() -> None:
    """Train, verify, evaluate and export the lossless SentencePiece vocabulary."""


@vocab.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder; writes OUT/vocab/.")
@click.option("--input", "input_store", type=click.Path(file_okay=False), help="Document store (default: --out).")
@click.option("--force", is_flag=True, help="Retrain even if an up-to-date vocabulary exists.")
@click.option("--dry-run", is_flag=True, help="Print the resolved options and the sample plan; train nothing.")
@handle_errors
def train(recipe: str, out_dir: str, input_store: str | None, force: bool, dry_run: bool) -> None:
    """Sample the document store by the recipe's weights and train the vocabulary.

    Local folders only; for a run folder on an object store use `dataprep run RECIPE --out URL`.
    """
    from dataprep.fs import is_url
    from dataprep.recipe import load_recipe

    for option, given in (("--out", out_dir), ("--input", input_store)):
        # Reading and writing gs://, s3://, ... needs Beam's filesystems, which live in
        # ``pipelines`` (this package stays below it); `dataprep run` passes them in.
        if given and is_url(given):
            raise click.BadParameter(
                f"{given}: `dataprep vocab train` reads and writes local folders; for a run folder on an "
                f"object store use `dataprep run RECIPE --out {given}` (it trains the vocabulary there, "
                "skipping the build and shards stages when they are up to date)",
                param_hint=option,
            )
    from vocab.train import check_store, plan_sample, train_vocab, trainer_options, vocab_dir

    loaded = load_recipe(recipe, check_paths=False)
    if dry_run:
        store = input_store or out_dir
        check_store(store)
        options = trainer_options(loaded.vocab)
        options.pop("minloglevel")
        for key, value in options.items():
            shown = f"{len(value)} symbols ({', '.join(value[:3])}{', ...' if len(value) > 3 else ''})" if isinstance(value, list) else value
            click.echo(f"{key}: {shown}")
        plans = plan_sample(loaded, store)
        rows = [
            [p.name, p.weight, p.documents, p.chars, p.held_out_documents, p.budget_chars, p.sampled_documents, p.sampled_chars]
            for p in plans.values()
        ]
        click.echo(
            format_table(
                ["source", "weight", "documents", "chars", "held out", "budget", "sampled", "sampled chars"], rows
            )
        )
        total = sum(p.sampled_chars for p in plans.values())
        cfg = loaded.vocab
        if cfg.model_type == "unigram" and total > cfg.seed_chunk_chars:
            chunks = -(-total // cfg.seed_chunk_chars)
            click.echo(f"seeding: {chunks} chunks of about {total // chunks:,} characters, each in its own process")
        else:
            click.echo("seeding: by SentencePiece over the whole sample")
        return
    manifest = train_vocab(loaded, out_dir, input_store, force=force, progress=lambda m: click.echo(m, err=True))
    if manifest["skipped"]:
        click.echo(f"vocabulary in {vocab_dir(out_dir)} is up to date (use --force to retrain)")
        return
    rows = [
        [name, s["weight"], s["documents"], s["held_out_documents"], s["sampled_documents"], s["sampled_chars"]]
        for name, s in manifest["sample"]["sources"].items()
    ]
    click.echo(format_table(["source", "weight", "documents", "held out", "sampled", "sampled chars"], rows))
    click.echo(
        f"trained {manifest['model_type']} vocabulary of {manifest['size']:,} pieces on "
        f"{manifest['sample']['chars']:,} characters in {manifest['seconds']:.1f} s -> {vocab_dir(out_dir)}"
    )


@vocab.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--input", "input_store", type=click.Path(file_okay=False), help="Document store (default: DIR).")
@click.option("--hf", "hf_path", type=click.Path(), help="Exported tokenizer.json to compare ids with (default: DIR's export, if any).")
@click.option("--max-docs", default=2000, show_default=True, help="Held-out documents checked per source.")
@click.option("--show", default=20, show_default=True, help="Failures printed (all are counted).")
@click.option("--threads", default=2, show_default=True, help="Encoder threads.")
@handle_errors
def verify(directory: str, input_store: str | None, hf_path: str | None, max_docs: int, show: int, threads: int) -> None:
    """Round trip, single digits, no <unk>, byte fallback only where needed, HF ids equal."""
    from vocab.export import HF_DIR, HF_FILE
    from vocab.train import find_vocab_dir
    from vocab.verify import verify_vocab

    folder = find_vocab_dir(directory)
    store = _store_for(directory, folder, input_store)
    if hf_path is None and os.path.exists(os.path.join(folder, HF_DIR, HF_FILE)):
        hf_path = os.path.join(folder, HF_DIR)
    reports = verify_vocab(folder, store, hf=hf_path, max_docs=max_docs, num_threads=threads)
    failures = [f for r in reports for f in r.failures]
    for f in failures[:show]:
        click.echo(f"FAIL {f}", err=True)
    if len(failures) > show:
        click.echo(f"... and {len(failures) - show} more failures", err=True)
    rows = [
        [r.source + ("" if r.held_out else " (not held out)"), r.documents, r.chars, r.tokens, len(r.failures)]
        for r in reports
    ]
    click.echo(format_table(["source", "documents", "chars", "tokens", "failures"], rows))
    checks = "round trip, single digits, no <unk>, byte fallback" + (", HF ids" if hf_path else "")
    if failures:
        click.echo(f"FAILED: {len(failures)} failures ({checks})", err=True)
        sys.exit(1)
    click.echo(f"OK: {sum(r.documents for r in reports):,} documents pass ({checks})")


@vocab.command(name="eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--input", "input_store", type=click.Path(file_okay=False), help="Document store (default: DIR).")
@click.option("--no-reference", is_flag=True, help="Skip training the reference HF BPE.")
@click.option("--max-docs", default=2000, show_default=True, help="Held-out documents per source.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the figures as JSON.")
@handle_errors
def eval_(directory: str, input_store: str | None, no_reference: bool, max_docs: int, json_out: str | None) -> None:
    """Bytes/token, tokens/word, byte-fallback rate, unused pieces, against a reference BPE."""
    from dataprep.manifest import write_json_atomic
    from vocab.evaluate import evaluate_vocab
    from vocab.train import find_vocab_dir

    folder = find_vocab_dir(directory)
    store = _store_for(directory, folder, input_store)
    result = evaluate_vocab(folder, store, reference=not no_reference, max_docs=max_docs)
    rows = []
    for name, pair in sorted(result["groups"].items()) + [("(all)", result["total"])]:
        ours, ref = pair["dataprep"], pair["reference"]
        rows.append(
            [
                name,
                ours["documents"],
                round(ours["bytes_per_token"], 3),
                round(ref["bytes_per_token"], 3) if ref else "-",
                round(ours["tokens_per_word"], 3),
                round(ref["tokens_per_word"], 3) if ref else "-",
                f"{ours['byte_fallback_rate']:.4%}",
            ]
        )
    click.echo(
        format_table(
            ["group", "docs", "bytes/token", "ref bytes/token", "tokens/word", "ref tokens/word", "byte fallback"], rows
        )
    )
    unused = result["unused_pieces"]
    click.echo(
        f"unused pieces on these documents: dataprep {unused['dataprep']:,}"
        + (f", reference {unused['reference']:,}" if unused["reference"] is not None else "")
    )
    if result["reference"]:
        click.echo(f"reference: {result['reference']} (trained in {result['reference_seconds']:.1f} s)")
    if json_out:
        write_json_atomic(json_out, result)


@vocab.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["hf"]), default="hf", show_default=True, help="Export format.")
@click.option("--out", "out", type=click.Path(file_okay=False), help="Output folder (default: DIR/vocab/hf).")
@handle_errors
def export(directory: str, fmt: str, out: str | None) -> None:
    """Write a Hugging Face tokenizer.json (and transformers config) with identical ids."""
    from vocab.export import export_hf
    from vocab.train import find_vocab_dir

    folder = find_vocab_dir(directory)
    path = export_hf(folder, out)
    click.echo(f"wrote {os.path.join(path, 'tokenizer.json')} (load with tokenizers.Tokenizer.from_file or "
               f"transformers.AutoTokenizer.from_pretrained('{path}'))")


__all__ = ["vocab"]
