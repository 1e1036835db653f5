"""``dataprep quality train RECIPE --out DIR`` and ``dataprep report DIR``.

``quality train`` fits the quality classifier on the document store that ``dataprep build``
wrote to ``DIR`` (curated sources as positives, raw web as negatives; see
`dataprep.filters.classifier`) and writes ``DIR/quality/{model.json,model.npy.zst,metrics.json}``.
It runs on one machine: the sample is bounded (``quality.max_chunks_per_source`` per source) and a
linear model trains in seconds. ``report`` writes ``DIR/report.html``. Neither needs Beam.
"""

from __future__ import annotations

import os
import time

import click

from dataprep.cli import format_table, handle_errors


@click.group()
def quality() -> None:
    """Train and inspect the quality classifier (GLaM-style: curated text vs raw web)."""


@quality.command("train")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="The build output folder (its document store is the training data); the model goes to OUT/quality.")
@click.option("--model-dir", default=None, type=click.Path(file_okay=False), help="Write the model here instead of OUT/quality.")
@handle_errors
def train(recipe: str, out_dir: str, model_dir: str | None) -> None:
    """Train the quality classifier of RECIPE on the documents built at --out.

    Positives: every books and wiki source and quality.positive_sources; negatives: every web
    source (or quality.negative_sources). Prints the held-out ROC AUC and writes the model and
    metrics.json. Point the recipe's quality.model at the folder to score web documents at
    the next build.
    """
    from dataprep.filters.classifier import label_sources, save_training, train_quality_model
    from dataprep.recipe import load_recipe
    from dataprep.store import iter_documents, part_files

    r = load_recipe(recipe, check_paths=False)
    labels = label_sources({s.name: s.kind for s in r.sources}, r.quality)
    present = {os.path.basename(os.path.dirname(p)) for p in part_files(out_dir)}
    names = sorted(n for n in labels if n in present)
    missing = sorted(set(labels) - present)
    if missing:
        click.echo(f"note: no documents in the store for {', '.join(missing)}", err=True)
    labels = {n: labels[n] for n in names}
    if built_with_classifier(out_dir):
        click.echo(
            "note: this store was built with quality.model set, so its web documents already passed a "
            "classifier; negatives are best taken from a build without it",
            err=True,
        )
    start = time.perf_counter()
    model, metrics = train_quality_model(lambda: iter_documents(out_dir, names), labels, r.quality, r.seed)
    target = model_dir or os.path.join(out_dir, "quality")
    save_training(model, metrics, target)
    rows = [
        [name, "curated" if s["label"] else "web", s["train_chunks"], s["heldout_chunks"], s["heldout_docs"], s["heldout_mean_score"] if s["heldout_mean_score"] is not None else "-"]
        for name, s in metrics["sources"].items()
    ]
    click.echo(format_table(["source", "class", "train chunks", "held-out chunks", "held-out docs", "mean held-out score"], rows))

    def auc(v: float | None) -> str:
        return f"{v:.4f}" if v is not None else "n/a (one class held out)"

    click.echo(f"held-out ROC AUC: documents {auc(metrics['heldout_doc_auc'])}, chunks {auc(metrics['heldout_chunk_auc'])}")
    click.echo(f"model written to {target} in {time.perf_counter() - start:.1f}s; set quality.model: {target}")


def built_with_classifier(out_dir: str) -> bool:
    """Whether the build at ``out_dir`` ran with a quality model (from its manifest's recipe)."""
    import json

    from dataprep.store import BUILD_MANIFEST

    try:
        with open(os.path.join(out_dir, BUILD_MANIFEST), encoding="utf-8") as f:
            recipe = json.load(f).get("recipe", {})
    except (OSError, ValueError):
        return False
    return bool((recipe.get("quality") or {}).get("model"))


@quality.command("score")
@click.argument("model", type=click.Path(exists=True))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@handle_errors
def score(model: str, files: tuple[str, ...]) -> None:
    """Print the quality score of each plain-text FILE under MODEL (a DIR/quality folder)."""
    from dataprep.filters.classifier import QualityModel

    m = QualityModel.load(model)
    rows = []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            rows.append([path, f"{m.score(f.read()):.4f}"])
    click.echo(format_table(["file", "score"], rows))


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--output", default=None, type=click.Path(dir_okay=False), help="Where to write the page (default DIRECTORY/report.html).")
@handle_errors
def report(directory: str, output: str | None) -> None:
    """Write a static HTML report of the corpus built at DIRECTORY.

    Shows documents and characters per source after each stage, drop reasons and rates,
    length histograms, quality-score and language distributions, and sampled dropped documents.
    The page is self-contained: open it in any browser, no server needed.
    """
    from dataprep.report import write_report

    path = write_report(directory, output)
    click.echo(f"report written to {path}")
