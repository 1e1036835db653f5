"""Exact and near-duplicate removal on Beam: `DropExactDuplicates`, `DropNearDuplicates`,
`WriteClusters`, and `run_dedup` for the standalone ``dataprep dedup`` command.

Both transforms take a ``PCollection[Document]`` and return a `DedupResult` of four
PCollections: ``kept`` (Document), ``dropped`` (`Dropped`, reason ``exact_duplicate`` or
``near_duplicate``), ``clusters`` (dict rows ``{id, source, cluster_id, kept, similarity,
stage}``; ``cluster_id`` is the kept document's id) and ``stats`` (one dict for the manifest).
The logic lives in `dataprep.dedup` (pure functions, tested alone); ``dataprep.dedup.local`` runs
the same functions in memory and is the oracle the tests compare these transforms against.

Near dedup graph::

    docs | BandKeys          # ((scope, band key), node)     node = (-len, id hash, id)
         | GroupBands        # bucket -> star edges to the bucket minimum (linear fan-out)
         | DistinctEdges     # (min node, node)
         | JoinEdgeTexts + GroupByCentre + Verify   # both texts beside the edge; metric >= threshold
         | InitClusters, then max_rounds x (Send_i | Gather_i | Merge_i)   # hash-to-min
         | Labels            # (node id, label node)
    docs ⨝ labels            # kept | (label id, doc) ⨝ clustered docs -> Dropped + cluster rows
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from dataprep.dedup.components import hash_to_min_messages, node_id
from dataprep.dedup.config import DedupConfig, StageSettings, stage_settings
from dataprep.dedup.stage import (
    NEAR_REASON,
    bucket_to_edges,
    cluster_row,
    dropped,
    exact_group_key,
    keeper_similarity,
    near_band_keys_batch,
    node_of,
    resolve_exact_group,
    stats_from_counts,
    verify_pair,
)
from dataprep.records import Document, Rejected
from pipelines.counting import COUNTS, CountingDoFn
from pipelines.runner import make_pipeline, pipeline_options



class DedupResult(NamedTuple):
    """The outputs of a dedup transform (each a PCollection; ``stats`` holds one dict)."""

    kept: Any
    dropped: Any
    clusters: Any
    stats: Any


def _settings(config: DedupConfig | StageSettings, sources: Iterable[Any]) -> StageSettings:
    if isinstance(config, StageSettings):
        return config
    return stage_settings(config, sources)


class _SumCounts(beam.CombineFn):
    """Sums ``(path, n)`` counters into one Counter (mergeable, so it combines per worker)."""

    def create_accumulator(self) -> Counter:
        return Counter()

    def add_input(self, acc: Counter, item: tuple) -> Counter:
        acc[tuple(item[0])] += item[1]
        return acc

    def merge_accumulators(self, accs: Iterable[Counter]) -> Counter:
        out: Counter = Counter()
        for a in accs:
            out.update(a)
        return out

    def extract_output(self, acc: Counter) -> list:
        return sorted(acc.items())


def _stats(counts: Any, stage_name: str, settings: StageSettings) -> Any:
    return (
        counts
        | f"Sum{stage_name.title()}Counts" >> beam.CombineGlobally(_SumCounts())
        | f"{stage_name.title()}Stats" >> beam.Map(lambda items: stats_from_counts(stage_name, items, settings))
    )


# ---- exact ----------------------------------------------------------------------------------


class _ExactKeyFn(CountingDoFn):
    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def process(self, doc: Document) -> Iterator[Any]:
        self.count(("sources", doc.source, "in"))
        key = exact_group_key(doc, self.settings)
        if key is None:
            yield beam.pvalue.TaggedOutput("skip", doc)
        else:
            yield key, doc


class _ResolveExactFn(beam.DoFn):
    def process(self, kv: tuple) -> Iterator[Any]:
        for tag, value in resolve_exact_group(kv[1]):
            yield value if tag == "kept" else beam.pvalue.TaggedOutput(tag, value)


class DropExactDuplicates(beam.PTransform):
    """Keep one document per group of exact duplicates (normalised-text hash, see
    `dataprep.dedup.exact`); the keeper is the longest, then the smallest id hash.

    Args:
        config: the recipe's `DedupConfig` (or already resolved `StageSettings`).
        sources: the recipe's `SourceSpec`s, for per-source overrides (``exact: false``).
    """

    def __init__(self, config: DedupConfig | StageSettings = DedupConfig(), sources: Iterable[Any] = ()) -> None:
        super().__init__()
        self.settings = _settings(config, sources)

    def expand(self, docs: Any) -> DedupResult:
        keyed = docs | "ExactKey" >> beam.ParDo(_ExactKeyFn(self.settings)).with_outputs("skip", COUNTS, main="keyed")
        # Output: ((scope, text hash), Document)
        resolved = (
            keyed.keyed
            | "GroupExact" >> beam.GroupByKey()
            | "ResolveExact" >> beam.ParDo(_ResolveExactFn()).with_outputs("dropped", "cluster", COUNTS, main="kept")
        )
        kept = (resolved.kept, keyed.skip) | "ExactKept" >> beam.Flatten()
        counts = (keyed[COUNTS], resolved[COUNTS]) | "ExactCounts" >> beam.Flatten()
        return DedupResult(kept, resolved.dropped, resolved.cluster, _stats(counts, "exact", self.settings))


# ---- near -----------------------------------------------------------------------------------


class _BandKeysFn(CountingDoFn):
    """Documents are signed in batches of about 1 MB (numpy calls per batch, not per document:
    2.7x faster on real text, see benchmarks/dedup_speed.py)."""

    BATCH_CHARS = 1 << 20
    BATCH_DOCS = 2000

    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def start_bundle(self) -> None:
        super().start_bundle()
        self._batch: list[Document] = []
        self._chars = 0

    def process(self, doc: Document) -> Iterator[Any]:
        self.count(("sources", doc.source, "in"))
        self._batch.append(doc)
        self._chars += len(doc.text)
        if self._chars >= self.BATCH_CHARS or len(self._batch) >= self.BATCH_DOCS:
            yield from self._flush()

    def _flush(self) -> Iterator[Any]:
        batch, self._batch, self._chars = self._batch, [], 0
        for doc, keys in zip(batch, near_band_keys_batch(batch, self.settings)):
            if keys == []:
                self.count(("sources", doc.source, "no_shingles"))
                continue
            if keys is None:
                continue
            node = node_of(doc)
            for key in keys:
                yield key, node

    def finish_bundle(self) -> Iterator[Any]:
        for kv in self._flush():
            yield WindowedValue(kv, MIN_TIMESTAMP, [GlobalWindow()])
        yield from super().finish_bundle()


class _BucketEdgesFn(CountingDoFn):
    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def process(self, kv: tuple) -> Iterator[Any]:
        (scope, _), members = kv
        edges, counts = bucket_to_edges(scope, members, self.settings)
        for path, n in counts:
            self.count(path, n)
        yield from edges


class _VerifyFn(CountingDoFn):
    """At the bucket minimum: ``(id_a, [("centre", doc_a), ("pair", (edge, doc_b))...])``."""

    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def process(self, kv: tuple) -> Iterator[Any]:
        doc_a = None
        pairs = []
        for tag, value in kv[1]:
            if tag == "centre":
                doc_a = value
            else:
                pairs.append(value)
        if doc_a is None:
            return
        memo: dict = {}  # doc_a's shingle set, computed once for all its pairs
        for edge, doc_b in pairs:
            self.count(("candidate_pairs",))
            if verify_pair(doc_a, doc_b, self.settings, memo):
                self.count(("verified_pairs",))
                yield edge


def _attach_texts(kv: tuple) -> Iterator[tuple]:
    """A document joined with the edges it ends: ``(id, {"doc": [doc], "ends": [...]})`` ->
    ``(first id, ("pair", (edge, doc)))`` where it is the second end, and once
    ``(id, ("centre", doc))`` where it is the first end (a bucket minimum)."""
    docs, ends = kv[1]["doc"], kv[1]["ends"]
    if not docs:
        return
    doc = docs[0]
    centre = False
    for role, edge in ends:
        if role == "second":
            yield node_id(edge[0]), ("pair", (edge, doc))
        elif not centre:
            centre = True
            yield doc.id, ("centre", doc)


class _MergeFn(CountingDoFn):
    """One hash-to-min round's merge: the union of the messages received; counts changes."""

    def __init__(self, round_index: int) -> None:
        self.round_index = round_index

    def process(self, kv: tuple) -> Iterator[Any]:
        node, messages = kv
        old = None
        merged: set = set()
        for tag, value in messages:
            if tag == "old":
                old = value
            else:
                merged.update(value)
        if not merged:  # cannot happen (every node is always in some set); keep the old one
            merged = set(old or (node,))
        new = tuple(sorted(merged))
        if new != old:
            self.count(("changed", str(self.round_index)))
        yield node, new


def _send(kv: tuple) -> Iterator[tuple]:
    node, cluster = kv
    yield node, ("old", cluster)
    for target, msg in hash_to_min_messages(node, frozenset(cluster)):
        yield target, ("msg", tuple(msg))


class _LabelDocsFn(beam.DoFn):
    """Docs ⨝ labels at the doc's id: kept documents out; every labelled one keyed by its label
    (``labelled``) and by itself (``keeper``, without meta) for the join with its members."""

    def process(self, kv: tuple) -> Iterator[Any]:
        docs, labels = kv[1]["doc"], kv[1]["label"]
        for doc in docs:
            if not labels:
                yield doc
                continue
            label = labels[0]
            yield beam.pvalue.TaggedOutput("labelled", (node_id(label), doc))
            # Any clustered document may be another's label (its own label differs only when
            # its component did not converge), so all of them go to the keeper join.
            yield beam.pvalue.TaggedOutput("keeper", (doc.id, doc._replace(meta={})))
            if node_id(label) == doc.id:
                yield doc


class _ResolveClusterFn(CountingDoFn):
    """Keepers ⨝ (label id, member doc) at the label: drops, cluster rows and sizes."""

    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def process(self, kv: tuple) -> Iterator[Any]:
        keepers, members = kv[1]["doc"], kv[1]["members"]
        if not members:
            return
        keeper = keepers[0]
        memo: dict = {}
        size = 0
        for doc in members:
            size += 1
            if doc.id == keeper.id:
                yield beam.pvalue.TaggedOutput("cluster", cluster_row(doc, keeper.id, True, 1.0, "near"))
            else:
                yield dropped(doc, NEAR_REASON)
                sim = keeper_similarity(doc, keeper, self.settings, memo)
                yield beam.pvalue.TaggedOutput("cluster", cluster_row(doc, keeper.id, False, sim, "near"))
                self.count(("sources", doc.source, "dropped_" + NEAR_REASON))
        self.count(("cluster_sizes", str(size)))


class DropNearDuplicates(beam.PTransform):
    """Keep one document per cluster of near duplicates: MinHash LSH band keys grouped in Beam,
    star edges to each bucket's minimum, verification by the exact metric, hash-to-min
    connected components for ``max_rounds`` rounds, keeper = longest then smallest id hash.

    Args:
        config: the recipe's `DedupConfig` (or already resolved `StageSettings`).
        sources: the recipe's `SourceSpec`s: per-source overrides and kinds (``auto`` metric is
            Levenshtein for ``kind: code``).
    """

    def __init__(self, config: DedupConfig | StageSettings = DedupConfig(), sources: Iterable[Any] = ()) -> None:
        super().__init__()
        self.settings = _settings(config, sources)

    def expand(self, docs: Any) -> DedupResult:
        s = self.settings
        bands = docs | "BandKeys" >> beam.ParDo(_BandKeysFn(s)).with_outputs(COUNTS, main="bands")
        # Output: ((scope, band key), node)
        buckets = (
            bands.bands
            | "GroupBands" >> beam.GroupByKey()
            | "BucketEdges" >> beam.ParDo(_BucketEdgesFn(s)).with_outputs(COUNTS, main="edges")
        )
        edges = buckets.edges | "DistinctEdges" >> beam.Distinct()
        # Output: (min node, node), each candidate pair once
        by_id = docs | "DocsById" >> beam.Map(lambda d: (d.id, d))
        # Verification needs both texts of each edge. One join of the documents with the edge
        # ends (instead of one join per end) keeps one copy of the corpus in flight, not two
        # (the local runner holds a join's inputs decoded in memory); meta is not needed.
        slim = docs | "SlimDocsById" >> beam.Map(lambda d: (d.id, d._replace(meta={})))
        ends = edges | "EdgeEnds" >> beam.FlatMap(lambda e: [(node_id(e[1]), ("second", e)), (node_id(e[0]), ("first", None))])
        verified = (
            {"doc": slim, "ends": ends}
            | "JoinEdgeTexts" >> beam.CoGroupByKey()
            | "AttachTexts" >> beam.FlatMap(_attach_texts)
            | "GroupByCentre" >> beam.GroupByKey()
            | "Verify" >> beam.ParDo(_VerifyFn(s)).with_outputs(COUNTS, main="edges")
        )
        # Output: verified (min node, node) edges
        state = (
            verified.edges
            | "BothWays" >> beam.FlatMap(lambda e: [(e[0], e[1]), (e[1], e[0])])
            | "GroupNeighbours" >> beam.GroupByKey()
            | "InitClusters" >> beam.Map(lambda kv: (kv[0], tuple(sorted({kv[0], *kv[1]}))))
        )
        round_counts = []
        for i in range(s.max_rounds):
            merged = (
                state
                | f"Send{i}" >> beam.FlatMap(_send)
                | f"Gather{i}" >> beam.GroupByKey()
                | f"Merge{i}" >> beam.ParDo(_MergeFn(i)).with_outputs(COUNTS, main="state")
            )
            state = merged.state
            round_counts.append(merged[COUNTS])
        labels = state | "Labels" >> beam.Map(lambda kv: (node_id(kv[0]), kv[1][0]))
        # Output: (doc id, label node): the label is min(C_v), the keeper once converged
        labelled = (
            {"doc": by_id, "label": labels}
            | "JoinLabels" >> beam.CoGroupByKey()
            | "SplitKept" >> beam.ParDo(_LabelDocsFn()).with_outputs("labelled", "keeper", main="kept")
        )
        resolved = (
            {"doc": labelled.keeper, "members": labelled.labelled}
            | "JoinKeepers" >> beam.CoGroupByKey()
            | "ResolveClusters" >> beam.ParDo(_ResolveClusterFn(s)).with_outputs("cluster", COUNTS, main="dropped")
        )
        counts = (bands[COUNTS], buckets[COUNTS], verified[COUNTS], resolved[COUNTS], *round_counts) | "NearCounts" >> beam.Flatten()
        return DedupResult(labelled.kept, resolved.dropped, resolved.cluster, _stats(counts, "near", s))


# ---- outputs --------------------------------------------------------------------------------


class WriteClusters(beam.PTransform):
    """Write cluster rows to ``OUT_DIR/dedup/clusters.parquet`` (sorted, atomic, on any Beam
    filesystem); outputs ``(path, rows)``. All rows are gathered on one worker (about 100 bytes
    per duplicate)."""

    def __init__(self, out_dir: str) -> None:
        super().__init__()
        self.out_dir = out_dir

    def expand(self, rows: Any) -> Any:
        from pipelines.fs import join

        path = join(self.out_dir, "dedup", "clusters.parquet")
        return (
            rows
            | "CollectClusters" >> beam.combiners.ToList()
            | "WriteClustersParquet" >> beam.Map(_write_clusters, path)
        )


def _write_clusters(rows: list, path: str) -> tuple[str, int]:
    """Any Beam filesystem (local, gs://...): temporary name, then rename."""
    from dataprep.dedup.clusters import clusters_bytes
    from pipelines.fs import write_bytes_atomic

    blob, n = clusters_bytes(rows)
    write_bytes_atomic(path, blob)
    return path, n


def dedup_documents(docs: Any, settings: StageSettings, exact: bool = True, near: bool = True) -> dict[str, Any]:
    """Chain exact then near dedup on a PCollection; returns ``kept``, ``dropped`` (flattened),
    ``clusters`` (flattened) and ``stats`` (a PCollection of the list of stage stats dicts)."""
    stages = []
    current = docs
    if exact:
        r = current | "DropExactDuplicates" >> DropExactDuplicates(settings)
        stages.append(r)
        current = r.kept
    if near:
        r = current | "DropNearDuplicates" >> DropNearDuplicates(settings)
        stages.append(r)
        current = r.kept
    p = docs.pipeline
    dropped_all = [r.dropped for r in stages] or [p | "NoDropped" >> beam.Create([])]
    clusters_all = [r.clusters for r in stages] or [p | "NoClusters" >> beam.Create([])]
    stats = [r.stats for r in stages] or [p | "NoStats" >> beam.Create([])]
    return {
        "kept": current,
        "dropped": tuple(dropped_all) | "AllDropped" >> beam.Flatten(),
        "clusters": tuple(clusters_all) | "AllClusters" >> beam.Flatten(),
        "stats": tuple(stats) | "AllStats" >> beam.Flatten() | "StatsList" >> beam.combiners.ToList(),
    }


DEDUP_FORMAT = "dataprep-dedup v1"


def _duplicate_ids(kv: tuple, source: str) -> Iterator[Rejected]:
    """``(id, [(file, position)...])``: every occurrence after the first is a reject."""
    doc_id, places = kv
    places = sorted(places)
    for file, position in places[1:]:
        detail = f"id {doc_id!r} already used at {places[0][0]}#{places[0][1]}"
        yield Rejected(source, file, position, "duplicate_id", detail)


class _DropPlaces(beam.DoFn):
    """Documents whose (file, position) is not in the side-input list."""

    def setup(self) -> None:
        self._list: Any = None
        self._set: set = set()

    def process(self, doc: Document, places: list) -> Iterator[Document]:
        if places is not self._list:  # the side input changes per window/bundle, not per element
            self._list, self._set = places, set(places)
        if (doc.meta["file"], doc.meta["position"]) not in self._set:
            yield doc


def _write_manifest(
    stats: list, outputs: list, rejects: list, n_clusters: int, out_dir: str, settings: StageSettings, extra: dict
) -> dict[str, Any]:
    from dataprep.configs import to_plain
    from dataprep.dedup.clusters import clusters_path
    from dataprep.dedup.io import write_rejects
    from dataprep.manifest import sha256_file, write_json_atomic

    rejects_path = os.path.join(out_dir, "dedup", "rejects.jsonl")
    write_rejects(rejects, rejects_path)
    reject_counts = dict(sorted(Counter(r.reason for r in rejects).items()))
    cpath = clusters_path(out_dir)
    manifest = {
        "format": DEDUP_FORMAT,
        **extra,
        "settings": to_plain(settings),
        "stages": {st["stage"]: st for st in stats},
        "rejected": reject_counts,
        "outputs": sorted(outputs, key=lambda o: o["input"]),
        "clusters": {"path": os.path.relpath(cpath, out_dir), "rows": n_clusters, "sha256": sha256_file(cpath)},
        "rejects": {"path": os.path.relpath(rejects_path, out_dir), "rows": len(rejects)},
    }
    write_json_atomic(os.path.join(out_dir, "dedup", "manifest.json"), manifest)
    return manifest


def run_dedup(
    inputs: Sequence[str],
    out_dir: str,
    settings: StageSettings,
    *,
    id_field: str = "id",
    text_field: str = "text",
    source: str = "input",
    exact: bool = True,
    near: bool = True,
    workers: int = 1,
    beam_args: Sequence[str] = (),
) -> dict[str, Any]:
    """``dataprep dedup``: read JSONL/Parquet ``inputs``, deduplicate, and write
    ``OUT/documents/<input name>`` (the kept records with all their fields, input order, same
    format), ``OUT/dedup/clusters.parquet``, ``OUT/dedup/rejects.jsonl`` and, last,
    ``OUT/dedup/manifest.json``, which is returned."""
    from dataprep.dedup.io import list_inputs, read_records, write_kept_streaming
    from dataprep.manifest import read_manifest

    files = list_inputs(inputs)
    extra = {"inputs": [rel for _, rel in files], "input_paths": [path for path, _ in files], "id_field": id_field, "text_field": text_field, "exact": exact, "near": near}
    p = make_pipeline(pipeline_options(workers, beam_args))
    file_items = p | "Inputs" >> beam.Create(files)
    read = (
        file_items
        | "Reshuffle" >> beam.Reshuffle()
        | "ReadRecords" >> beam.FlatMap(lambda f: read_records(f, id_field, text_field, source))
        | "SplitRejected" >> beam.Partition(lambda r, n: 0 if isinstance(r, Document) else 1, 2)
    )
    # Ids must be unique: group only (id, place) pairs, never the documents themselves.
    dup_rejects = (
        read[0]
        | "IdPlaces" >> beam.Map(lambda d: (d.id, (d.meta["file"], d.meta["position"])))
        | "GroupIds" >> beam.GroupByKey()
        | "DuplicateIds" >> beam.FlatMap(_duplicate_ids, source)
    )
    dup_places = dup_rejects | "DuplicatePlaces" >> beam.Map(lambda r: (r.file, r.position))
    docs = read[0] | "DropDuplicateIds" >> beam.ParDo(_DropPlaces(), beam.pvalue.AsList(dup_places))
    out = dedup_documents(docs, settings, exact, near)
    # Kept records are written by streaming each input again and skipping the dropped and
    # rejected places, so no stage ever holds all kept documents.
    excluded = (
        (out["dropped"] | "DroppedPlaces" >> beam.Map(lambda d: (d.file, d.position)), dup_places)
        | "ExcludedPlaces" >> beam.Flatten()
    )
    written = file_items | "WriteDocuments" >> beam.Map(
        lambda f, places: write_kept_streaming(f, out_dir, id_field, text_field, source, places),
        beam.pvalue.AsList(excluded),
    )
    n_clusters = out["clusters"] | "WriteClusters" >> WriteClusters(out_dir) | "ClusterRows" >> beam.Map(lambda r: r[1])
    rejects = (read[1], dup_rejects) | "AllRejects" >> beam.Flatten()
    _ = out["stats"] | "WriteManifest" >> beam.Map(
        _write_manifest,
        beam.pvalue.AsList(written),
        beam.pvalue.AsList(rejects),
        beam.pvalue.AsSingleton(n_clusters),
        out_dir,
        settings,
        extra,
    )
    p.run().wait_until_finish()
    return read_manifest(os.path.join(out_dir, "dedup", "manifest.json"), DEDUP_FORMAT)
