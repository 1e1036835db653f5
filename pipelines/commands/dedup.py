"""``dataprep dedup``: remove exact and near duplicates from JSONL or Parquet files.

    dataprep dedup INPUT... --out DIR [--threshold 0.8] [--metric jaccard|levenshtein] ...
    dataprep dedup explain DIR DOC_ID

The first form is the ``run`` subcommand (``dataprep dedup run INPUT... --out DIR`` also works):
a first argument that is not a subcommand name is routed to ``run``. Beam runner options go
after ``--`` (``dataprep dedup in.jsonl --out D -- --runner=DataflowRunner ...``). Beam is
imported lazily so ``dataprep --help`` stays fast.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from typing import Any, Sequence

import click

from dataprep.cli import format_table, handle_errors
from dataprep.errors import DataprepError, RecipeError


class DefaultToRun(click.Group):
    """A group whose first argument, when it is not a subcommand, starts the ``run`` command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultToRun, context_settings={"help_option_names": ["-h", "--help"]})
def dedup() -> None:
    """Remove exact and near duplicates (MinHash LSH + verification) from JSONL or Parquet.

    `dataprep dedup INPUT... --out DIR` deduplicates; `dataprep dedup explain DIR DOC_ID`
    shows a dropped document beside the document kept from its cluster.
    """


@dedup.command("run", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--id-field", default="id", show_default=True, help="Record field holding the id (missing: FILE#LINE).")
@click.option("--text-field", default="text", show_default=True, help="Record field holding the text.")
@click.option("--threshold", type=float, default=0.8, show_default=True, help="Similarity at or above which documents are duplicates.")
@click.option("--candidate-threshold", type=float, default=None, help="Shingle Jaccard LSH aims at (default: threshold - 0.1, or - 0.3 for levenshtein).")
@click.option("--metric", type=click.Choice(["jaccard", "levenshtein"]), default="jaccard", show_default=True, help="Verification metric (levenshtein: PaLM's, for code).")
@click.option("--shingle", type=click.Choice(["word", "char"]), default="word", show_default=True, help="Word n-grams, or byte n-grams (code).")
@click.option("--ngram", type=int, default=5, show_default=True, help="Shingle size (tokens, or bytes <= 8).")
@click.option("--num-perm", type=int, default=128, show_default=True, help="MinHash permutations.")
@click.option("--no-verify", is_flag=True, help="Trust LSH collisions without computing the similarity.")
@click.option("--no-exact", is_flag=True, help="Skip the exact-duplicate stage.")
@click.option("--no-near", is_flag=True, help="Skip the near-duplicate stage.")
@click.option("--workers", type=int, default=1, show_default=True, help="Local worker processes (Beam direct runner).")
@handle_errors
def run(
    inputs: Sequence[str],
    out_dir: str,
    id_field: str,
    text_field: str,
    threshold: float,
    candidate_threshold: float | None,
    metric: str,
    shingle: str,
    ngram: int,
    num_perm: int,
    no_verify: bool,
    no_exact: bool,
    no_near: bool,
    workers: int,
) -> None:
    """Deduplicate INPUT files (JSONL, optionally compressed, or Parquet; folders are walked).

    Writes DIR/documents/<input name> (kept records, all fields, input order),
    DIR/dedup/clusters.parquet, DIR/dedup/rejects.jsonl and DIR/dedup/manifest.json. Arguments
    after `--` are Beam pipeline options.
    """
    from dataprep.configs import from_mapping
    from dataprep.dedup.config import DedupConfig, stage_settings

    beam_args = [a for a in inputs if a.startswith("--")]
    files = [a for a in inputs if not a.startswith("--")]
    if not files:
        raise RecipeError("INPUT", "at least one input file", "only options")
    config = from_mapping(
        DedupConfig,
        {"threshold": threshold, "candidate_threshold": candidate_threshold, "metric": metric, "shingle": shingle, "ngram": ngram, "num_perm": num_perm, "verify": not no_verify},
        "dedup",
    )
    settings = stage_settings(config)
    from pipelines.dedup import run_dedup

    manifest = run_dedup(
        files, out_dir, settings, id_field=id_field, text_field=text_field, exact=not no_exact, near=not no_near, workers=workers, beam_args=beam_args
    )
    click.echo(summary(manifest))


def summary(manifest: dict[str, Any]) -> str:
    """The end-of-run table: per source, records in, dropped by stage, kept."""
    stages = manifest["stages"]
    sources = sorted({s for st in stages.values() for s in st["sources"]})
    rows = []
    for s in sources:
        ex = stages.get("exact", {}).get("sources", {}).get(s, {})
        ne = stages.get("near", {}).get("sources", {}).get(s, {})
        n_in = ex.get("in", ne.get("in", 0))
        kept = ne.get("kept", ex.get("kept", n_in))
        rows.append([s, n_in, ex.get("dropped_exact_duplicate", 0), ne.get("dropped_near_duplicate", 0), kept])
    lines = [format_table(["source", "in", "exact dups", "near dups", "kept"], rows)]
    near = stages.get("near")
    if near:
        lines.append(
            f"candidate pairs {near['candidate_pairs']:,}, verified {near['verified_pairs']:,}, "
            f"oversized buckets {sum(near['oversized_buckets'].values()):,}, unconverged nodes {near['unconverged_nodes']:,}"
        )
    if manifest.get("rejected"):
        lines.append("rejected: " + ", ".join(f"{k} {v:,}" for k, v in manifest["rejected"].items()))
    lines.append(f"clusters: {manifest['clusters']['path']} ({manifest['clusters']['rows']:,} rows)")
    return "\n".join(lines)


# ---- explain --------------------------------------------------------------------------------


def _find_texts(out_dir: str, ids: set[str]) -> dict[str, str]:
    """Texts of ``ids``: from the inputs named by a ``dataprep dedup`` manifest, else from a
    ``dataprep build`` document store (which holds kept documents only)."""
    import json

    found: dict[str, str] = {}
    manifest_path = os.path.join(out_dir, "dedup", "manifest.json")
    if os.path.exists(manifest_path):
        from dataprep.dedup.io import read_records
        from dataprep.records import Document

        with open(manifest_path, encoding="utf-8") as f:
            m = json.load(f)
        for path, rel in zip(m.get("input_paths", []), m.get("inputs", [])):
            if not os.path.exists(path):
                continue
            for r in read_records((path, rel), m.get("id_field", "id"), m.get("text_field", "text"), "input"):
                if isinstance(r, Document) and r.id in ids and r.id not in found:
                    found[r.id] = r.text
            if len(found) == len(ids):
                return found
    store = os.path.join(out_dir, "documents")
    if os.path.isdir(store) and not os.path.exists(manifest_path):
        from dataprep.store import iter_documents

        for d in iter_documents(out_dir):
            if d.id in ids:
                found[d.id] = d.text
    return found


def side_by_side(left: str, right: str, width: int, max_lines: int) -> str:
    """Two texts in columns; ``|`` between lines that are equal, ``*`` between differing ones."""
    col = max(20, (width - 3) // 2)

    def lines(text: str) -> list[str]:
        out = []
        for para in text.split("\n"):
            out.extend(textwrap.wrap(para, col, replace_whitespace=False, drop_whitespace=True) or [""])
        return out

    a, b = lines(left), lines(right)
    total = max(len(a), len(b))
    # Start two lines before the first difference: the shared head says nothing.
    first = next((i for i in range(total) if (a[i] if i < len(a) else None) != (b[i] if i < len(b) else None)), 0)
    start = max(0, min(first - 2, total - max_lines))
    n = min(total, start + max_lines)
    rows = [f"... (first {start} lines equal)"] if start else []
    for i in range(start, n):
        x = a[i] if i < len(a) else ""
        y = b[i] if i < len(b) else ""
        rows.append(f"{x:<{col}} {'|' if x == y else '*'} {y}".rstrip())
    if total > n:
        rows.append(f"... ({len(a)} and {len(b)} lines; --lines N shows more)")
    return "\n".join(rows)


@dedup.command("explain", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("doc_id")
@click.option("--lines", "max_lines", type=int, default=40, show_default=True, help="Lines of each text to show.")
@click.option("--width", type=int, default=0, help="Total width (default: the terminal's).")
@handle_errors
def explain(out_dir: str, doc_id: str, max_lines: int, width: int) -> None:
    """Show DOC_ID beside the document kept from its duplicate cluster (from DIR/dedup)."""
    from dataprep.dedup.clusters import clusters_path, read_clusters

    path = clusters_path(out_dir)
    if not os.path.exists(path):
        raise DataprepError(f"{path}: no clusters file (run `dataprep dedup` or `dataprep build` with dedup first)")
    rows = read_clusters(path)
    mine = [r for r in rows if r["id"] == doc_id]
    if not mine:
        click.echo(f"{doc_id}: not in any duplicate cluster (unique, or not an id of this output)")
        return
    width = width or shutil.get_terminal_size((160, 40)).columns
    ids = {doc_id} | {r["cluster_id"] for r in mine}
    texts = _find_texts(out_dir, ids)
    for row in mine:
        members = [r for r in rows if r["cluster_id"] == row["cluster_id"] and r["stage"] == row["stage"]]
        status = "kept" if row["kept"] else f"dropped ({row['stage']}_duplicate)"
        click.echo(
            f"{doc_id}: {status}; {row['stage']} cluster {row['cluster_id']!r} of {len(members)} documents; "
            f"similarity to the kept document {row['similarity']:.3f}"
        )
        if row["kept"]:
            others = [r for r in members if not r["kept"]]
            click.echo(format_table(["dropped", "similarity"], [[r["id"], r["similarity"]] for r in others[:20]]))
            continue
        keeper = row["cluster_id"]
        click.echo(f"{'this document':<{max(20, (width - 3) // 2)}}   kept: {keeper}")
        click.echo(side_by_side(texts.get(doc_id, "(text not stored)"), texts.get(keeper, "(text not stored)"), width, max_lines))
        later = [r for r in rows if r["id"] == keeper and not r["kept"]]
        for r in later:
            click.echo(f"note: {keeper} was itself dropped as a {r['stage']} duplicate of {r['cluster_id']}")
