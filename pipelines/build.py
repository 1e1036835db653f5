"""The build stage on Beam: read every source, normalise, filter, deduplicate, write the store.

    units (source, path, root)
      | ReadSources          # Output: Document; rejected, stats (costly parsing reshuffled)
      | CleanDocuments       # Output: Document normalised, length- and quality-filtered
      | DropExactDuplicates  # (recipe dedup section)
      | DropNearDuplicates
      | WriteDocumentStore   # OUT/documents/<source>/part-NNNNN-of-MMMMM.parquet
    rejects  -> OUT/rejects/<source>.jsonl
    samples  -> OUT/samples/dropped.parquet (a few dropped documents per source and reason)
    all      -> OUT/build-manifest.json, written last

Output is byte-identical whatever the runner or worker count: parts are assigned by a hash of
the document id, rows sorted by id, and every file is written under a temporary name and renamed.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import time
from typing import Any, Iterable, Iterator, Sequence

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from dataprep import __version__
from dataprep.accounting import sum_counts, summarize
from dataprep.filters import make_checks
from dataprep.errors import FormatError, StageError
from dataprep.manifest import dumps_json
from dataprep.normalize import check_length, normalize_document
from dataprep.recipe import BuildConfig, Recipe, SourceSpec, match_sources
from dataprep.records import Document, Dropped, Pending, Rejected
from dataprep.sources import ReadContext, reader_module
from dataprep.store import BUILD_FORMAT, BUILD_MANIFEST, parquet_bytes, part_name, text_bytes
from pipelines.counting import COUNTS, CountingDoFn
from pipelines.fs import BeamFileSystem, join, read_bytes, remove_tree, write_bytes_atomic
from pipelines.runner import make_pipeline, pipeline_options

log = logging.getLogger(__name__)

SAMPLES_PER_REASON = 5
SAMPLE_CHARS = 2000
REJECT_DETAIL_CHARS = 500


# ---------------------------------------------------------------------------------------------
# Counting: DoFns add to a per-bundle Counter keyed (source, stage, field) (pipelines.counting).


def _sample_key(seed: int, doc_id: str) -> int:
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=seed & 0xFFFFFFFFFFFFFFFF)


# ---------------------------------------------------------------------------------------------
# Read


class _ReadUnitFn(CountingDoFn):
    """(source, path, root) -> every record of that input unit, tagged by outcome."""

    def __init__(self, specs: dict[str, SourceSpec]) -> None:
        self._specs = specs

    def setup(self) -> None:
        self._fs = BeamFileSystem()

    def process(self, unit: tuple[str, str, str]) -> Iterator[Any]:
        source, path, root = unit
        spec = self._specs[source]
        ctx = ReadContext(source, root, spec.options)
        self.count((source, "read", "files"))
        try:
            self.count((source, "read", "input_bytes"), _size(self._fs, path))
        except Exception:  # size is informative only
            pass
        module = reader_module(spec.kind)
        # Readers that can defer their costly step (HTML extraction) do so: pending records are
        # reshuffled over all workers and finished there (see ReadSources).
        records = module.read(self._fs, path, ctx, defer=True) if hasattr(module, "finish") else module.read(self._fs, path, ctx)
        position = "start"
        n = 0
        try:
            for n, rec in enumerate(records, 1):
                if isinstance(rec, Pending):
                    yield beam.pvalue.TaggedOutput("pending", rec)
                    continue
                self.count((source, "read", "in"))
                if isinstance(rec, Document):
                    position = rec.meta.get("position", position)
                    self.count((source, "read", "out"))
                    yield rec
                elif isinstance(rec, Dropped):
                    self.count((source, "read", f"dropped:{rec.reason}"))
                elif isinstance(rec, Rejected):
                    self.count((source, "read", f"rejected:{rec.reason}"))
                    yield beam.pvalue.TaggedOutput("rejected", rec)
        except Exception as e:  # a reader bug or unforeseen input: reject the rest, keep going
            log.exception("reader failed on %s", path)
            self.count((source, "read", "in"))
            self.count((source, "read", "rejected:reader_error"))
            yield beam.pvalue.TaggedOutput(
                "rejected",
                Rejected(source, path, f"after {position}", "reader_error", f"{type(e).__name__}: {e}"[:REJECT_DETAIL_CHARS]),
            )
        log.info("read %s (%s): %d records", path, source, n)


class _FinishFn(CountingDoFn):
    """`Pending` -> its `Document`, counted like a record read directly."""

    def __init__(self, specs: dict[str, SourceSpec]) -> None:
        self._specs = specs

    def process(self, pending: Pending) -> Iterator[Any]:
        spec = self._specs[pending.source]
        self.count((pending.source, "read", "in"))
        try:
            rec = reader_module(spec.kind).finish(pending, spec.options)
        except Exception as e:  # a reader bug: reject this record, keep going
            log.exception("finishing %s failed", pending.id)
            rec = Rejected(pending.source, pending.id, "", "reader_error", f"{type(e).__name__}: {e}"[:REJECT_DETAIL_CHARS])
        if isinstance(rec, Document):
            self.count((pending.source, "read", "out"))
            yield rec
        elif isinstance(rec, Dropped):
            self.count((pending.source, "read", f"dropped:{rec.reason}"))
        else:
            self.count((pending.source, "read", f"rejected:{rec.reason}"))
            yield beam.pvalue.TaggedOutput("rejected", rec)


def _size(fs: BeamFileSystem, path: str) -> int:
    infos = fs.match(path)
    return sum(i.size for i in infos) if infos else 0


class ReadSources(beam.PTransform):
    """Read every input unit of the recipe's sources.

    Input: ``(source, path, root)`` tuples. Output: a dict of PCollections: ``documents``
    (`Document`), ``rejected`` (`Rejected`) and ``stats`` (``((source, stage, field), n)``).
    """

    def __init__(self, specs: dict[str, SourceSpec]) -> None:
        super().__init__()
        self._specs = specs

    def expand(self, units: beam.PCollection) -> dict[str, beam.PCollection]:
        read = (
            units
            | "SpreadUnits" >> beam.Reshuffle()  # one unit per worker, not one bundle for all
            | "ReadUnits" >> beam.ParDo(_ReadUnitFn(self._specs)).with_outputs("pending", "rejected", COUNTS, main="documents")
        )
        # Output: Document | Pending (a page whose extraction is deferred) | Rejected
        finished = (
            read.pending
            | "SpreadPending" >> beam.Reshuffle()
            | "FinishPending" >> beam.ParDo(_FinishFn(self._specs)).with_outputs("rejected", COUNTS, main="documents")
        )
        return {
            "documents": (read.documents, finished.documents) | "AllRead" >> beam.Flatten(),
            "rejected": (read.rejected, finished.rejected) | "AllRejected" >> beam.Flatten(),
            "stats": (read[COUNTS], finished[COUNTS]) | "ReadStats" >> beam.Flatten(),
        }


# ---------------------------------------------------------------------------------------------
# Clean: normalise, length bounds, filters


class _CleanFn(CountingDoFn):
    def __init__(self, specs: dict[str, SourceSpec], min_chars: dict[str, int], max_chars: int, recipe: Recipe) -> None:
        self._specs = specs
        self._min_chars = min_chars
        self._max_chars = max_chars
        self._quality = recipe.quality
        self._seed = recipe.seed

    def setup(self) -> None:
        self._checks = {name: make_checks(spec, self._quality, self._seed) for name, spec in self._specs.items()}
        for checks in self._checks.values():
            for check in checks:
                check.setup()

    def _drop(self, doc: Document, stage: str, reason: str) -> Any:
        self.count((doc.source, stage, f"dropped:{reason}"))
        sample = (_sample_key(self._seed, doc.id), doc.id, doc.text[:SAMPLE_CHARS])
        return beam.pvalue.TaggedOutput("samples", ((doc.source, reason), sample))

    def process(self, doc: Document) -> Iterator[Any]:
        source = doc.source
        self.count((source, "normalize", "in"))
        doc = normalize_document(doc)
        verdict = check_length(doc.text, self._min_chars[source], self._max_chars)
        if not verdict.keep:
            yield self._drop(doc, "normalize", verdict.reason or "length")
            return
        self.count((source, "normalize", "out"))
        self.count((source, "filter", "in"))
        for check in self._checks[source]:
            doc, verdict = check(doc)
            if not verdict.keep:
                yield self._drop(doc, "filter", verdict.reason or check.name)
                return
        self.count((source, "filter", "out"))
        yield doc


class CleanDocuments(beam.PTransform):
    """Normalise text (see `dataprep.normalize`), drop empty/short/long documents, apply each
    source's filters. Output: ``documents``, ``samples`` ((source, reason), (key, id, text))
    and ``stats``."""

    def __init__(self, recipe: Recipe) -> None:
        super().__init__()
        self._recipe = recipe

    def expand(self, docs: beam.PCollection) -> dict[str, beam.PCollection]:
        r = self._recipe
        specs = {s.name: s for s in r.sources}
        min_chars = {s.name: (s.min_chars if s.min_chars is not None else r.build.min_chars) for s in r.sources}
        results = docs | "NormalizeAndFilter" >> beam.ParDo(
            _CleanFn(specs, min_chars, r.build.max_chars, r)
        ).with_outputs("samples", COUNTS, main="documents")
        return {"documents": results.documents, "samples": results.samples, "stats": results[COUNTS]}


# ---------------------------------------------------------------------------------------------
# Write


def _part_index(doc_id: str, parts: int) -> int:
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8")) % parts


class _WritePartFn(beam.DoFn):
    def __init__(self, out_dir: str) -> None:
        self._out_dir = out_dir

    def process(self, keyed: tuple[tuple[str, int], Iterable[Document]], parts: dict[str, int]) -> Iterator[dict]:
        (source, index), docs = keyed
        rows = sorted((d for d in docs if d is not None), key=lambda d: d.id)
        sizes = [text_bytes(d.text) for d in rows]  # once: the row groups and the record use them
        data = parquet_bytes(rows, text_sizes=sizes)
        rel = f"documents/{source}/{part_name(index, parts[source])}"
        write_bytes_atomic(join(self._out_dir, rel), data)
        yield {
            "path": rel,
            "source": source,
            "rows": len(rows),
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "text_bytes": sum(sizes),
            "chars": sum(len(d.text) for d in rows),
        }


class _SumPairs(beam.CombineFn):
    """(documents, text bytes) summed per source: one combine for both counts."""

    def create_accumulator(self) -> tuple[int, int]:
        return (0, 0)

    def add_input(self, acc: tuple[int, int], pair: tuple[int, int]) -> tuple[int, int]:
        return (acc[0] + pair[0], acc[1] + pair[1])

    def merge_accumulators(self, accs: Iterable[tuple[int, int]]) -> tuple[int, int]:
        n = b = 0
        for an, ab in accs:
            n += an
            b += ab
        return (n, b)

    def extract_output(self, acc: tuple[int, int]) -> tuple[int, int]:
        return acc


def parts_for(documents: int, nbytes: int, rows_per_part: int, bytes_per_part: int) -> int:
    """How many part files a source of ``documents`` documents and ``nbytes`` UTF-8 bytes of
    text gets: enough that neither bound is exceeded on average, at least one."""
    return max(1, math.ceil(documents / rows_per_part), math.ceil(nbytes / bytes_per_part))


class WriteDocumentStore(beam.PTransform):
    """Documents -> ``OUT/documents/<source>/part-NNNNN-of-MMMMM.parquet``.

    A source with n documents and b bytes of text (UTF-8) gets
    ``max(ceil(n / rows_per_part), ceil(b / bytes_per_part))`` parts (`parts_for`), so a part
    holds about ``rows_per_part`` documents or ``bytes_per_part`` of text, whichever is smaller:
    a worker writing one holds one part. A document's part is a hash of its id, so parts are
    only balanced on average: with k documents per part the largest part exceeds the mean by a few
    times 1/sqrt(k) (about +30% at k = 100 over 100 parts), and a single document larger than the
    bound still goes whole into one part. Rows are sorted by id and written in row groups bounded
    by rows and bytes (`dataprep.store.parquet_bytes`), so the bytes do not depend on the runner
    or worker count. Output: one dict per written file (path, source, rows, bytes, sha256,
    text_bytes, chars).
    """

    def __init__(
        self, out_dir: str, rows_per_part: int, bytes_per_part: int = BuildConfig.parquet_bytes_per_part
    ) -> None:
        super().__init__()
        self._out_dir = out_dir
        self._rows_per_part = rows_per_part
        self._bytes_per_part = bytes_per_part

    def expand(self, docs: beam.PCollection) -> beam.PCollection:
        rows_per_part, bytes_per_part = self._rows_per_part, self._bytes_per_part
        # Documents and text bytes counted in one pass and one combine (as many transforms as
        # counting documents alone took: each costs fixed time on the local runner).
        parts = (
            docs
            | "KeyBySource" >> beam.Map(lambda d: (d.source, (1, text_bytes(d.text))))
            | "CountPerSource" >> beam.CombinePerKey(_SumPairs())
            | "PartsPerSource"
            >> beam.MapTuple(lambda s, nb: (s, parts_for(nb[0], nb[1], rows_per_part, bytes_per_part)))
        )
        parts_side = beam.pvalue.AsDict(parts)
        keyed = docs | "KeyByPart" >> beam.Map(lambda d, p: ((d.source, _part_index(d.id, p[d.source])), d), parts_side)
        # One marker per part, so a part that no document hashed into is still written (empty)
        # and the part-i-of-n series is always complete.
        markers = parts | "PartMarkers" >> beam.FlatMapTuple(lambda s, n: [((s, i), None) for i in range(n)])
        return (
            (keyed, markers)
            | "AllParts" >> beam.Flatten()
            | "GroupParts" >> beam.GroupByKey()
            | "WriteParts" >> beam.ParDo(_WritePartFn(self._out_dir), parts_side)
        )


def _write_rejects(keyed: tuple[str, Iterable[Rejected]], out_dir: str) -> Iterator[dict]:
    source, rejects = keyed
    rows = sorted(rejects, key=lambda r: (r.file, str(r.position), r.reason, r.detail))
    data = b"".join(
        (
            json.dumps(
                {"source": r.source, "file": r.file, "position": r.position, "reason": r.reason, "detail": r.detail[:REJECT_DETAIL_CHARS]},
                sort_keys=True,
                ensure_ascii=False,
                default=str,
            )
            + "\n"
        ).encode("utf-8")
        for r in rows
    )
    rel = f"rejects/{source}.jsonl"
    write_bytes_atomic(join(out_dir, rel), data)
    yield {"path": rel, "source": source, "rows": len(rows), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _write_samples(groups: list[tuple[tuple[str, str], list[tuple[int, str, str]]]], out_dir: str) -> Iterator[dict]:
    rows = sorted(((source, reason, doc_id, text) for (source, reason), samples in groups for _, doc_id, text in samples))
    table = pa.table(
        {
            "source": [r[0] for r in rows],
            "reason": [r[1] for r in rows],
            "id": [r[2] for r in rows],
            "text": [r[3] for r in rows],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    data = buf.getvalue()
    rel = "samples/dropped.parquet"
    write_bytes_atomic(join(out_dir, rel), data)
    yield {"path": rel, "source": None, "rows": len(rows), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _count_per_source(pcoll: beam.PCollection, label: str, stage: str, field_fn: Any) -> beam.PCollection:
    """Counters for a stage whose transform does not count itself (dedup)."""
    return (
        pcoll
        | f"{label}Keys" >> beam.Map(lambda x: ((x.source, stage, field_fn(x)), 1))
        | f"{label}Sum" >> beam.CombinePerKey(sum)
    )


def build_manifest_dict(recipe: Recipe, stats: dict, files: list[dict]) -> dict[str, Any]:
    """The build manifest from merged counters and the written files (pure; tested alone)."""
    outputs = sorted(files, key=lambda f: f["path"])
    for f in outputs:
        if f["path"].startswith("documents/"):
            stats[(f["source"], "write", "bytes")] = stats.get((f["source"], "write", "bytes"), 0) + f["text_bytes"]
            stats[(f["source"], "write", "chars")] = stats.get((f["source"], "write", "chars"), 0) + f["chars"]
    sources = summarize(stats, [s.name for s in recipe.sources])
    for s in recipe.sources:
        sources[s.name]["kind"] = s.kind
    return {
        "format": BUILD_FORMAT,
        "dataprep_version": __version__,
        "recipe": recipe.to_dict(),
        "fingerprint": build_fingerprint(recipe),
        "sources": sources,
        "balanced": all(v["balanced"] for v in sources.values()),
        "files": [{k: v for k, v in f.items() if k not in ("text_bytes", "chars")} for f in outputs],
    }


def check_balanced_or_raise(manifest: dict[str, Any]) -> None:
    """`StageError` naming the sources whose account does not balance (a bug, never data)."""
    if not manifest["balanced"]:
        bad = sorted(name for name, s in manifest["sources"].items() if not s["balanced"])
        raise StageError(f"the build's accounting does not balance for {', '.join(bad)}; see build-manifest.json 'stages'")


def build_fingerprint(recipe: Recipe) -> str:
    """What the document store depends on: sources, build, dedup and quality sections."""
    return recipe.fingerprint("seed", "sources", "build", "dedup", "quality")


def _write_manifest(_: Any, recipe: Recipe, out_dir: str, stats: list[tuple], files: list[dict], dedup: list[dict]) -> Iterator[dict]:
    manifest = build_manifest_dict(recipe, sum_counts(stats), files)
    manifest["dedup"] = sorted(dedup, key=lambda d: json.dumps(d, sort_keys=True, default=str))
    write_bytes_atomic(join(out_dir, BUILD_MANIFEST), dumps_json(manifest))
    yield manifest


# ---------------------------------------------------------------------------------------------
# Assembly


def expand_build(p: beam.Pipeline, recipe: Recipe, out_dir: str, units: list[tuple[str, str, str]]) -> beam.PCollection:
    """Add the build to pipeline ``p``. Returns a PCollection holding the one manifest dict."""
    specs = {s.name: s for s in recipe.sources}
    read = p | "Units" >> beam.Create(units) | "ReadSources" >> ReadSources(specs)
    clean = read["documents"] | "CleanDocuments" >> CleanDocuments(recipe)
    docs = clean["documents"]
    stats = [read["stats"], clean["stats"]]
    files = []
    dedup_stats: list[beam.PCollection] = []
    dedup_outputs = _apply_dedup(recipe, docs, out_dir)
    if dedup_outputs is not None:
        docs, dedup_counters, dedup_files, dedup_stats = dedup_outputs
        stats.extend(dedup_counters)
        files.extend(dedup_files)

    files.append(
        docs
        | "WriteDocumentStore"
        >> WriteDocumentStore(out_dir, recipe.build.parquet_rows_per_part, recipe.build.parquet_bytes_per_part)
    )
    files.append(
        read["rejected"]
        | "KeyRejects" >> beam.Map(lambda r: (r.source, r))
        | "GroupRejects" >> beam.GroupByKey()
        | "WriteRejects" >> beam.FlatMap(_write_rejects, out_dir)
    )
    files.append(
        clean["samples"]
        | "SampleDropped" >> beam.combiners.Top.PerKey(SAMPLES_PER_REASON, key=lambda s: -s[0])
        | "GatherSamples" >> beam.combiners.ToList()
        | "WriteSamples" >> beam.FlatMap(_write_samples, out_dir)
    )
    all_stats = stats | "FlattenStats" >> beam.Flatten()
    all_files = files | "FlattenFiles" >> beam.Flatten()
    all_dedup = (dedup_stats or [p | "NoDedup" >> beam.Create([])]) | "FlattenDedupStats" >> beam.Flatten()
    return (
        p
        | "ManifestTrigger" >> beam.Create([None])
        | "WriteManifest"
        >> beam.FlatMap(
            _write_manifest,
            recipe,
            out_dir,
            beam.pvalue.AsList(all_stats),
            beam.pvalue.AsList(all_files),
            beam.pvalue.AsList(all_dedup),
        )
    )


def _apply_dedup(recipe: Recipe, docs: beam.PCollection, out_dir: str) -> tuple | None:
    """Exact then near dedup as the recipe's ``dedup`` section asks; None when both are off.

    Returns the kept documents, the stages' counters (for the per-source account), the written
    clusters file entry and the dedup stages' own statistics (for the manifest's ``dedup``).
    """
    cfg = recipe.dedup
    if not (cfg.exact or cfg.near):
        return None
    from dataprep.dedup.config import stage_settings
    from pipelines.dedup import DropExactDuplicates, DropNearDuplicates

    settings = stage_settings(cfg, recipe.sources)
    counters, clusters, stage_stats = [], [], []
    for stage, enabled, transform in (
        ("exact_dedup", cfg.exact, DropExactDuplicates),
        ("near_dedup", cfg.near, DropNearDuplicates),
    ):
        if not enabled:
            continue
        label = "".join(w.title() for w in stage.split("_"))
        result = docs | label >> transform(settings)
        counters.append(_count_per_source(docs, f"{label}In", stage, lambda d: "in"))
        counters.append(_count_per_source(result.kept, f"{label}Out", stage, lambda d: "out"))
        counters.append(_count_per_source(result.dropped, f"{label}Dropped", stage, lambda d: f"dropped:{d.reason}"))
        clusters.append(result.clusters)
        stage_stats.append(result.stats)
        docs = result.kept
    cluster_file = (
        clusters
        | "FlattenClusters" >> beam.Flatten()
        | "GatherClusters" >> beam.combiners.ToList()
        | "WriteClusters" >> beam.FlatMap(_write_clusters, out_dir)
    )
    return docs, counters, [cluster_file], stage_stats


def _write_clusters(rows: list[dict], out_dir: str) -> Iterator[dict]:
    """``OUT/dedup/clusters.parquet``: every document of a non-trivial cluster (the input's own
    ids, its cluster id = the kept document's id, kept flag, similarity to the kept one)."""
    from dataprep.dedup.clusters import clusters_table

    buf = io.BytesIO()
    pq.write_table(clusters_table(rows), buf, compression="zstd", row_group_size=65536)
    data = buf.getvalue()
    rel = "dedup/clusters.parquet"
    write_bytes_atomic(join(out_dir, rel), data)
    yield {"path": rel, "source": None, "rows": len(rows), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def build_documents(
    recipe: Recipe,
    out_dir: str,
    *,
    workers: int = 1,
    beam_args: Sequence[str] = (),
) -> dict[str, Any]:
    """Run the build: read ``recipe``'s sources and write the document store under ``out_dir``.

    Any previous build output there is removed first, manifest first, so a store is complete
    exactly when ``build-manifest.json`` exists. Returns the manifest.
    """
    fs = BeamFileSystem()
    inputs = match_sources(recipe, fs)
    units = [(name, path, root) for name, paths in inputs.items() for path, root in paths]
    for spec in recipe.sources:  # a missing model or word list is a recipe error, before launch
        make_checks(spec, recipe.quality, recipe.seed)
    for rel in (BUILD_MANIFEST, "documents", "rejects", "samples", "dedup"):
        remove_tree(join(out_dir, rel)) if rel != BUILD_MANIFEST else _remove_file(join(out_dir, rel))
    options = pipeline_options(workers, beam_args)
    started = time.time()
    p = make_pipeline(options)
    expand_build(p, recipe, out_dir, units)
    result = p.run()
    result.wait_until_finish()
    log.info("build finished in %.1f s", time.time() - started)
    return read_build_manifest(out_dir)


def _remove_file(path: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    if FileSystems.exists(path):
        FileSystems.delete([path])


def read_build_manifest(out_dir: str) -> dict[str, Any]:
    """The manifest of a completed build at ``out_dir`` (any Beam filesystem)."""
    from apache_beam.io.filesystems import FileSystems

    path = join(out_dir, BUILD_MANIFEST)
    if not FileSystems.exists(path):
        raise FormatError(f"{path}: no build manifest (the build has not completed)")
    data = json.loads(read_bytes(path).decode("utf-8"))
    if data.get("format") != BUILD_FORMAT:
        raise FormatError(f"{path}: expected format '{BUILD_FORMAT}', found {data.get('format')!r}")
    return data
