"""``dataprep report DIR``: one static, self-contained HTML page about a built corpus.

Reads what ``dataprep build`` wrote to ``DIR`` (``build-manifest.json``, the document store
``documents/<source>/part-*.parquet`` and ``samples/dropped.parquet``) and writes
``DIR/report.html``: documents and characters per source after each stage, drop and reject
reasons with their rates, document-length histograms, quality-score and language distributions
per source, and sampled dropped documents per reason. Charts are inline SVG, styles inline CSS;
the page fetches nothing (its Content-Security-Policy forbids it) and runs no script.

The pure part is `collect` (files -> `ReportData`) and `render_html` (`ReportData` -> str), so
each is tested alone.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataprep import __version__
from dataprep.errors import FormatError
from dataprep.filters.classifier import QUALITY_BINS, quality_bin
from dataprep.manifest import write_atomic
from dataprep.store import BUILD_FORMAT, BUILD_MANIFEST, part_files

REPORT_NAME = "report.html"
SAMPLES_PATH = os.path.join("samples", "dropped.parquet")
SHARDS_MANIFEST = os.path.join("shards", "manifest.json")
CLASSIFIER_METRICS = os.path.join("quality", "metrics.json")
# Length histogram: log10(characters) bins of 0.25 from 10 characters to 10 M.
LENGTH_EDGES = [10 ** (1 + i / 4) for i in range(0, 25)]
# Axis labels at the decades (bin 1 starts at 10 characters, every 4th bin is a power of ten).
LENGTH_TICKS = tuple(range(1, len(LENGTH_EDGES), 4))
SCORE_BINS = QUALITY_BINS
SAMPLES_PER_REASON = 3
SAMPLE_DISPLAY_CHARS = 1500


@dataclass
class SourceStats:
    """What the store says about one source (documents as they are now)."""

    docs: int = 0
    chars: int = 0
    length_hist: list[int] = field(default_factory=lambda: [0] * (len(LENGTH_EDGES) + 1))
    score_hist: list[int] = field(default_factory=lambda: [0] * SCORE_BINS)
    scored: int = 0
    score_sum: float = 0.0
    languages: Counter = field(default_factory=Counter)


@dataclass
class ReportData:
    """Everything the page shows, gathered from ``DIR``."""

    directory: str
    manifest: dict[str, Any] | None
    stats: dict[str, SourceStats]
    samples: dict[tuple[str, str], list[tuple[str, str]]]  # (source, reason) -> [(id, text)]
    shards: dict[str, Any] | None = None  # DIR/shards/manifest.json when the shards stage ran
    classifier: dict[str, Any] | None = None  # DIR/quality/metrics.json when a model was trained here


def length_bin(n: int) -> int:
    """Index of the length histogram bin of a document of ``n`` characters.

    >>> length_bin(5), length_bin(10), length_bin(1000), length_bin(10**9)
    (0, 1, 9, 25)
    """
    if n < LENGTH_EDGES[0]:
        return 0
    return min(len(LENGTH_EDGES), int(math.floor(4 * (math.log10(n) - 1) + 1e-9)) + 1)


def store_stats(directory: str) -> dict[str, SourceStats]:
    """Per-source document counts, characters, length and score histograms and languages,
    streamed from the store one row group at a time (lengths computed by Arrow, not Python)."""
    stats: dict[str, SourceStats] = {}
    try:
        files = part_files(directory)
    except FormatError:
        return stats
    for path in files:
        source = os.path.basename(os.path.dirname(path))
        st = stats.setdefault(source, SourceStats())
        f = pq.ParquetFile(path)
        for rg in range(f.num_row_groups):
            table = f.read_row_group(rg, columns=["text", "meta"])
            lengths = pc.utf8_length(table.column("text")).to_pylist()
            st.docs += len(lengths)
            st.chars += sum(lengths)
            for n in lengths:
                st.length_hist[length_bin(n)] += 1
            for raw in table.column("meta").to_pylist():
                meta = json.loads(raw)
                score = meta.get("quality_score")
                if isinstance(score, (int, float)):
                    st.scored += 1
                    st.score_sum += score
                    st.score_hist[quality_bin(score)] += 1
                lang = meta.get("language")
                if isinstance(lang, str) and "language_score" in meta:
                    st.languages[lang] += 1
    return stats


def read_samples(directory: str, per_reason: int = SAMPLES_PER_REASON) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Sampled dropped documents, at most ``per_reason`` per (source, reason), in file order."""
    path = os.path.join(directory, SAMPLES_PATH)
    if not os.path.exists(path):
        return {}
    table = pq.read_table(path, columns=["id", "source", "reason", "text"]).to_pydict()
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for doc_id, source, reason, text in zip(table["id"], table["source"], table["reason"], table["text"]):
        rows = out.setdefault((source, reason), [])
        if len(rows) < per_reason:
            rows.append((doc_id, text))
    return out


def collect(directory: str) -> ReportData:
    """Gather the report's data from a build output folder. Raises `FormatError` when the folder
    has neither a build manifest nor a document store."""
    manifest_path = os.path.join(directory, BUILD_MANIFEST)
    manifest = None
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            try:
                manifest = json.load(f)
            except json.JSONDecodeError as e:
                raise FormatError(f"{manifest_path}: unreadable manifest: {e}") from None
        if manifest.get("format") != BUILD_FORMAT:
            raise FormatError(f"{manifest_path}: expected format '{BUILD_FORMAT}', found {manifest.get('format')!r}")
    stats = store_stats(directory)
    if manifest is None and not stats:
        raise FormatError(f"{directory}: no {BUILD_MANIFEST} and no document store: is this a `dataprep build` output?")
    return ReportData(
        directory,
        manifest,
        stats,
        read_samples(directory),
        read_shards_manifest(directory),
        read_json_format(os.path.join(directory, CLASSIFIER_METRICS), "dataprep-quality-metrics"),
    )


def read_json_format(path: str, prefix: str) -> dict[str, Any] | None:
    """A JSON file whose ``format`` starts with ``prefix``, or None when absent or foreign."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    fmt = data.get("format") if isinstance(data, dict) else None
    return data if isinstance(fmt, str) and fmt.startswith(prefix) else None


def read_shards_manifest(directory: str) -> dict[str, Any] | None:
    """``DIR/shards/manifest.json`` (token counts per source) if the shards stage ran there; None
    otherwise (the report then has no token table)."""
    return read_json_format(os.path.join(directory, SHARDS_MANIFEST), "dataprep-shards")


# ---------------------------------------------------------------------------------------------
# Rendering

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:16px 32px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;color:#cfd8dc}
nav{padding:8px 32px;background:#eceff1;position:sticky;top:0}
nav a{margin-right:16px;color:#37474f;text-decoration:none;font-weight:600}
main{padding:8px 32px 48px;max-width:1200px}
section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:12px 20px;margin:16px 0}
h2{font-size:18px;margin:6px 0 12px} h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #eee;padding:4px 10px;text-align:left}
th{background:#f5f5f5} td.num{text-align:right}
.muted{color:#777} .grid{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.card{border:1px solid #eee;border-radius:4px;padding:6px 10px}
details{margin:6px 0} summary{cursor:pointer}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:8px;border-radius:4px;max-height:240px;overflow:auto;font-size:12px}
svg text{font:11px system-ui,sans-serif;fill:#333}
"""


def esc(value: Any) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape(str(value), quote=True)


def fmt_int(n: int | float) -> str:
    return f"{int(n):,}"


def fmt_pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.2f}%" if whole else "–"


NUMERIC = re.compile(r"^(?:[-+]?[\d,]+(?:\.\d+)?%?|–)$")


def _td(cell: Any) -> str:
    text = esc(cell)
    return f'<td class="num">{text}</td>' if NUMERIC.match(str(cell)) else f"<td>{text}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; cells are escaped, numbers right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def svg_bars(items: Sequence[tuple[str, float]], title: str, width: int = 560, value_fmt: Any = fmt_int) -> str:
    """A horizontal bar chart as inline SVG (one bar per item, labelled with its value)."""
    if not items:
        return '<p class="muted">nothing to show</p>'
    label_w, bar_h, gap = 210, 16, 4
    height = len(items) * (bar_h + gap) + 24
    top = max(v for _, v in items) or 1
    parts = [f'<svg role="img" aria-label="{esc(title)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    parts.append(f'<text x="0" y="12" font-weight="600">{esc(title)}</text>')
    avail = width - label_w - 70
    for i, (label, value) in enumerate(items):
        y = 20 + i * (bar_h + gap)
        w = max(1.0, avail * value / top) if value else 0.0
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{esc(label[:34])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"><title>{esc(label)}: {esc(value_fmt(value))}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{esc(value_fmt(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_histogram(
    counts: Sequence[int],
    labels: Sequence[str],
    title: str,
    color: str = "#4e79a7",
    width: int = 360,
    height: int = 150,
    ticks: Sequence[int] | None = None,
) -> str:
    """A vertical histogram as inline SVG; ``labels`` has one entry per bin (hover text), and the
    bins listed in ``ticks`` (default: about six evenly spaced) are labelled on the axis."""
    total = sum(counts)
    parts = [f'<svg role="img" aria-label="{esc(title)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    parts.append(f'<text x="0" y="12" font-weight="600">{esc(title)}</text>')
    if not total:
        parts.append('<text x="0" y="40" fill="#777">no documents</text></svg>')
        return "".join(parts)
    left, bottom, top_pad = 4, 22, 20
    plot_h = height - bottom - top_pad
    bw = (width - left * 2) / len(counts)
    peak = max(counts)
    for i, c in enumerate(counts):
        h = plot_h * c / peak
        x = left + i * bw
        parts.append(
            f'<rect x="{x:.1f}" y="{top_pad + plot_h - h:.1f}" width="{max(bw - 1, 1):.1f}" height="{h:.1f}" '
            f'fill="{color}"><title>{esc(labels[i])}: {fmt_int(c)}</title></rect>'
        )
    if ticks is None:
        ticks = range(0, len(counts), max(1, len(counts) // 6))
    for i in ticks:
        x = left + i * bw
        anchor = ' text-anchor="end"' if x > width - 40 else ""  # keep the last label inside
        parts.append(f'<text x="{min(x, width - 2):.1f}" y="{height - 6}"{anchor}>{esc(labels[i])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def length_labels() -> list[str]:
    def short(v: float) -> str:
        for unit, div in (("M", 1e6), ("k", 1e3)):
            if v >= div:
                return f"{v / div:.3g}{unit}"
        return f"{v:.3g}"

    return ["<10"] + [f"≥{short(e)}" for e in LENGTH_EDGES]


def _sources(data: ReportData) -> list[str]:
    names = set(data.stats)
    if data.manifest:
        names |= set(data.manifest.get("sources", {}))
    return sorted(names)


def render_summary(data: ReportData) -> str:
    m = data.manifest or {}
    srcs = m.get("sources", {})
    rows = []
    for name in _sources(data):
        s = srcs.get(name, {})
        st = data.stats.get(name, SourceStats())
        read = s.get("read")
        rows.append([
            name,
            s.get("kind", ""),
            fmt_int(read) if read is not None else "–",
            fmt_int(sum(s.get("dropped", {}).values())) if s else "–",
            fmt_int(sum(s.get("rejected", {}).values())) if s else "–",
            fmt_int(s["kept"]) if "kept" in s else "–",
            fmt_pct(s.get("kept", 0), read) if read else "–",
            fmt_int(st.docs),
            fmt_int(st.chars),
            f"{st.score_sum / st.scored:.3f}" if st.scored else "–",
        ])
    out = table(["source", "kind", "read", "dropped", "rejected", "kept", "kept %", "documents in store", "characters in store", "mean quality score"], rows)
    chart = svg_bars([(n, data.stats[n].chars) for n in _sources(data) if n in data.stats], "characters per source (store)")
    return f'<section id="summary"><h2>Summary</h2>{out}{chart}</section>'


def render_stages(data: ReportData) -> str:
    if not data.manifest:
        return '<section id="stages"><h2>Stages</h2><p class="muted">no build manifest: stage counts unavailable</p></section>'
    srcs = data.manifest.get("sources", {})
    stage_names: list[str] = []
    for s in srcs.values():
        for row in s.get("stages", []):
            if row["stage"] not in stage_names:
                stage_names.append(row["stage"])
    rows = []
    for name in sorted(srcs):
        s = srcs[name]
        by_stage = {row["stage"]: row for row in s.get("stages", [])}
        cells = [name, fmt_int(s.get("read", 0))]
        for st in stage_names:
            cells.append(fmt_int(by_stage[st]["out"]) if st in by_stage else "–")
        cells.append(fmt_int(s.get("chars", 0)))
        cells.append(f'{s.get("bytes", 0) / 1e6:,.2f}')
        rows.append(cells)
    headers = ["source", "read"] + [f"after {st}" for st in stage_names] + ["characters written", "MB written"]
    note = '<p class="muted">Every stage balances: in = out + dropped + rejected (see build-manifest.json).</p>'
    body = f"{table(headers, rows)}{note}{render_filters(data)}"
    return f'<section id="stages"><h2>Documents after each stage</h2>{body}</section>'


def render_filters(data: ReportData) -> str:
    """Which rule families ran on each source (the recipe in the manifest, kind defaults resolved)."""
    from dataprep.filters import FAMILIES, KIND_DEFAULTS

    recipe = (data.manifest or {}).get("recipe", {})
    sources = recipe.get("sources", [])
    if not sources:
        return ""
    has_model = bool((recipe.get("quality") or {}).get("model"))
    rows = []
    for src in sources:
        filters = src.get("filters") or {}
        cells = [src.get("name", "?"), src.get("kind", "?")]
        for family in FAMILIES:
            section = filters.get(family) or {}
            enabled = section.get("enabled")
            if enabled is None:
                enabled = family in KIND_DEFAULTS.get(src.get("kind", ""), frozenset()) and (family != "quality" or has_model)
            label = "on" if enabled else "–"
            if enabled and family == "language" and section.get("allowed"):
                label = "keep " + ",".join(section["allowed"])
            elif enabled and family == "language":
                label = "tag"
            elif enabled and family == "quality" and section.get("tag_only"):
                label = "tag"
            elif enabled and section.get("languages"):
                label = "on (" + ",".join(section["languages"]) + ")"
            cells.append(label)
        rows.append(cells)
    return "<h3>Filters applied</h3>" + table(["source", "kind", *FAMILIES], rows)


def render_tokens(data: ReportData) -> str:
    if not data.shards:
        return (
            '<section id="tokens"><h2>Tokens</h2><p class="muted">no shards/manifest.json: run '
            "<code>dataprep shards</code> (or <code>dataprep run</code>) for token counts</p></section>"
        )
    rows = []
    for name, s in sorted(data.shards.get("sources", {}).items()):
        realised = s.get("realised_tokens", {})
        rows.append([
            name,
            fmt_int(s.get("documents", 0)),
            fmt_int(s.get("available_tokens", 0)),
            f'{100 * s.get("target_share", 0):.2f}%',
            f'{100 * s.get("realised_share", 0):.2f}%',
            fmt_int(realised.get("train", 0)),
            fmt_int(realised.get("validation", 0)),
            f'{s.get("epochs", 0):.2f}',
        ])
    headers = ["source", "documents tokenized", "tokens available", "target share", "realised share", "train tokens", "validation tokens", "epochs"]
    chart = svg_bars([(n, s.get("available_tokens", 0)) for n, s in sorted(data.shards.get("sources", {}).items())], "tokens available per source")
    return f'<section id="tokens"><h2>Tokens</h2>{table(headers, rows)}{chart}</section>'


def render_drops(data: ReportData) -> str:
    if not data.manifest:
        return ""
    srcs = data.manifest.get("sources", {})
    parts = ['<section id="drops"><h2>Drop and reject reasons</h2>']
    rows = []
    for name in sorted(srcs):
        s = srcs[name]
        read = s.get("read", 0)
        for kind, key in (("dropped", "dropped"), ("rejected", "rejected")):
            for reason, n in sorted(s.get(key, {}).items(), key=lambda kv: (-kv[1], kv[0])):
                rows.append([name, kind, reason, fmt_int(n), fmt_pct(n, read)])
    parts.append(table(["source", "outcome", "reason", "documents", "% of read"], rows) if rows else '<p class="muted">nothing dropped or rejected</p>')
    parts.append('<div class="grid">')
    for name in sorted(srcs):
        dropped = srcs[name].get("dropped", {})
        if dropped:
            items = sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))
            parts.append(f'<div class="card">{svg_bars(items, f"{name}: dropped by reason", width=520)}</div>')
    parts.append("</div></section>")
    return "".join(parts)


def render_lengths(data: ReportData) -> str:
    labels = length_labels()
    cards = [
        f'<div class="card">{svg_histogram(data.stats[n].length_hist, labels, f"{n}: characters per document (log scale)", PALETTE[i % len(PALETTE)], ticks=LENGTH_TICKS)}</div>'
        for i, n in enumerate(sorted(data.stats))
    ]
    return f'<section id="lengths"><h2>Document lengths</h2><div class="grid">{"".join(cards) or "<p class=muted>empty store</p>"}</div></section>'


def render_quality(data: ReportData) -> str:
    labels = [f"{i / SCORE_BINS:.2f}" for i in range(SCORE_BINS)]
    ticks = range(0, SCORE_BINS, 4)
    cards = []
    srcs = (data.manifest or {}).get("sources", {})
    for i, name in enumerate(_sources(data)):
        color = PALETTE[i % len(PALETTE)]
        # Every scored document, kept or dropped, when the build counted them
        # (``sources.<name>.quality_histogram``: SCORE_BINS counts, bins of `quality_bin`).
        hist = srcs.get(name, {}).get("quality_histogram")
        if isinstance(hist, list) and len(hist) == SCORE_BINS and sum(hist):
            cards.append(f'<div class="card">{svg_histogram(hist, labels, f"{name}: quality score, all scored ({fmt_int(sum(hist))})", color, ticks=ticks)}</div>')
        st = data.stats.get(name)
        if st is not None and st.scored:
            cards.append(f'<div class="card">{svg_histogram(st.score_hist, labels, f"{name}: quality score, kept ({fmt_int(st.scored)})", color, ticks=ticks)}</div>')
    body = "".join(cards) if cards else '<p class="muted">no document carries a quality_score (set quality.model and enable filters.quality)</p>'
    body += render_classifier(data.classifier)
    note = (
        '<p class="muted">"All scored" counts every document the classifier scored (when the build '
        'manifest has them), "kept" the documents in the store: Pareto-noisy thresholding keeps some '
        "low scores on purpose, and the documents it dropped are counted as <code>quality</code> under "
        "Drops. <code>filters.quality.tag_only: true</code> keeps every scored document of a source.</p>"
    )
    return f'<section id="quality"><h2>Quality scores</h2><div class="grid">{body}</div>{note}</section>'


def render_classifier(metrics: dict[str, Any] | None) -> str:
    """The classifier trained in this folder (``quality/metrics.json``): held-out AUC and counts."""
    if not metrics:
        return ""

    def auc(v: Any) -> str:
        return f"{v:.4f}" if isinstance(v, (int, float)) else "n/a"

    rows = [
        [name, "curated" if s.get("label") else "web", fmt_int(s.get("train_chunks", 0)), fmt_int(s.get("heldout_docs", 0)),
         f'{s["heldout_mean_score"]:.3f}' if isinstance(s.get("heldout_mean_score"), (int, float)) else "–"]
        for name, s in sorted(metrics.get("sources", {}).items())
    ]
    head = (
        f"<h3>Classifier trained here (quality/metrics.json)</h3><p>held-out ROC AUC: documents "
        f"<b>{auc(metrics.get('heldout_doc_auc'))}</b>, chunks <b>{auc(metrics.get('heldout_chunk_auc'))}</b></p>"
    )
    return head + table(["source", "class", "training chunks", "held-out documents", "mean held-out score"], rows)


def render_languages(data: ReportData) -> str:
    cards = []
    for n, st in sorted(data.stats.items()):
        if st.languages:
            items = st.languages.most_common(10)
            cards.append(f'<div class="card">{svg_bars(items, f"{n}: languages (top 10)", width=420)}</div>')
    body = "".join(cards) if cards else '<p class="muted">no language tags</p>'
    return f'<section id="languages"><h2>Languages</h2><div class="grid">{body}</div></section>'


def render_samples(data: ReportData) -> str:
    if not data.samples:
        return '<section id="samples"><h2>Dropped examples</h2><p class="muted">no samples/dropped.parquet</p></section>'
    parts = ['<section id="samples"><h2>Dropped examples</h2><p class="muted">A few sampled documents per source and reason (text truncated).</p>']
    current = None
    for (source, reason), rows in sorted(data.samples.items()):
        if source != current:
            parts.append(f"<h3>{esc(source)}</h3>")
            current = source
        parts.append(f"<details><summary><b>{esc(reason)}</b> ({len(rows)} shown)</summary>")
        for doc_id, text in rows:
            clipped = text[:SAMPLE_DISPLAY_CHARS] + ("…" if len(text) > SAMPLE_DISPLAY_CHARS else "")
            parts.append(f'<p class="muted">{esc(doc_id)}</p><pre>{esc(clipped)}</pre>')
        parts.append("</details>")
    parts.append("</section>")
    return "".join(parts)


def render_html(data: ReportData) -> str:
    """The whole page. Deterministic for the same inputs (no timestamps)."""
    m = data.manifest or {}
    recipe = m.get("recipe", {})
    subtitle = f"recipe <b>{esc(recipe.get('name', '?'))}</b>, seed {esc(recipe.get('seed', '?'))}, fingerprint {esc(str(m.get('fingerprint', '–'))[:12])}"
    renderers = (
        render_summary, render_stages, render_tokens, render_drops,
        render_lengths, render_quality, render_languages, render_samples,
    )
    sections = [render(data) for render in renderers]
    nav = "".join(f'<a href="#{sid}">{label}</a>' for sid, label in (("summary", "Summary"), ("stages", "Stages"), ("tokens", "Tokens"), ("drops", "Drops"), ("lengths", "Lengths"), ("quality", "Quality"), ("languages", "Languages"), ("samples", "Examples")))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>dataprep report: {esc(recipe.get('name', os.path.basename(os.path.abspath(data.directory))))}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<header><h1>Corpus report</h1><p>{subtitle} · dataprep {esc(__version__)}</p></header>"
        f"<nav>{nav}</nav><main>{''.join(sections)}</main></body></html>\n"
    )


def write_report(directory: str, out_path: str | None = None) -> str:
    """Collect, render and write the report atomically; returns the path written
    (``DIR/report.html`` unless ``out_path`` is given)."""
    path = out_path or os.path.join(directory, REPORT_NAME)
    page = render_html(collect(directory)).encode("utf-8")
    write_atomic(path, lambda f: f.write(page))
    return path
