"""Exact and near-duplicate removal on Beam: `DropExactDuplicates`, `DropNearDuplicates`,
`WriteClusters`, and `run_dedup` for the standalone ``dataprep dedup`` command.

Both transforms take a ``PCollection[Document]`` and return a `DedupResult` of four
PCollections: ``kept`` (Document), ``dropped`` (`Dropped`, reason ``exact_duplicate`` or
``near_duplicate``), ``clusters`` (dict rows ``{id, source, cluster_id, kept, similarity,
stage}``; ``cluster_id`` is the kept document's id) and ``stats`` (one dict for the manifest).
The logic lives in `dataprep.dedup` (pure functions, tested alone); ``dataprep.dedup.local`` runs
the same functions in memory and is the oracle the tests compare these transforms against.

Near dedup graph::

    docs | BandRows          # ((scope, partition), packed rows (band hash, node))  node = (-len, id hash)
                             # and (node partition, packed documents)
         | GroupBands | BucketEdges   # star edges to each bucket's minimum (vectorised, linear fan-out)
         | GroupEdges | DistinctEdges # (min node, node), each candidate pair once
         | JoinEdgeTexts + GroupByCentre + Verify   # both texts beside the edge; metric >= threshold
         | InitClusters, then max_rounds x (Send_i | Gather_i | Merge_i)   # hash-to-min
         | Labels            # (node, label node)
    docs ⨝ labels            # kept | (label, doc) ⨝ clustered docs -> Dropped + cluster rows

The LSH graph travels as packed numpy arrays (28 bytes per band and document, grouped by
``partitions`` keys) and the corpus as compressed blobs per node partition (`pack_items`),
joined with edge ends and labels per partition: Beam's in-process
runner holds every grouping's input in memory, so the bytes per element decide how large a
corpus one machine can deduplicate (``benchmarks/dedup_scale.py``).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import apache_beam as beam
import numpy as np
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from dataprep.dedup.components import BAND_ROW, EDGE, NODE_BYTES, hash_to_min_messages, node_list, star_edges
from dataprep.dedup.config import DedupConfig, StageSettings, stage_settings
from dataprep.dedup.stage import (
    NEAR_REASON,
    bucket_counts,
    cluster_row,
    dropped,
    exact_group_key,
    keeper_similarity,
    exact_partition,
    near_band_rows,
    node_of,
    node_partition,
    pack_document,
    pack_items,
    resolve_exact_partition,
    stats_from_counts,
    unpack_document,
    unpack_items,
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


def return_freed_memory() -> bool:
    """Have glibc give freed memory back to the system at once (trim threshold 0) and serve
    blocks of 64 KiB or more by mmap (a fixed threshold, so it does not drift up), instead of
    keeping it for reuse. Dedup frees whole groupings one after the other; with the defaults the
    process kept them: 400,000 documents peaked at 1.71-1.80 GB, with this 1.45 GB, at the same
    speed (benchmarks/dedup_scale.py). Affects the calling process only (each Beam worker calls
    it in ``setup``); a no-op returning False outside glibc."""
    import ctypes
    import ctypes.util
    import sys

    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3
        return libc.mallopt(m_trim_threshold, 0) == 1 and libc.mallopt(m_mmap_threshold, 64 << 10) == 1
    except (OSError, AttributeError):
        return False


class _BatchFn(CountingDoFn):
    """Collects a bundle's documents into batches of about 1 MB (``BATCH_CHARS``) or
    ``BATCH_DOCS`` documents and hands each to ``_flush`` (a generator of outputs), so that numpy
    and the packers work per batch and the groupings receive a few large values per partition
    instead of an element per document."""

    BATCH_CHARS = 1 << 20
    BATCH_DOCS = 2000

    def setup(self) -> None:
        return_freed_memory()

    def start_bundle(self) -> None:
        super().start_bundle()
        self._batch: list[Document] = []
        self._chars = 0

    def _add(self, doc: Document) -> Iterator[Any]:
        self._batch.append(doc)
        self._chars += len(doc.text)
        if self._chars >= self.BATCH_CHARS or len(self._batch) >= self.BATCH_DOCS:
            yield from self._take()

    def _take(self) -> Iterator[Any]:
        batch, self._batch, self._chars = self._batch, [], 0
        if batch:
            yield from self._flush(batch)

    def _flush(self, batch: list[Document]) -> Iterator[Any]:
        raise NotImplementedError

    def finish_bundle(self) -> Iterator[Any]:
        for out in self._take():
            if isinstance(out, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(out.tag, WindowedValue(out.value, MIN_TIMESTAMP, [GlobalWindow()]))
            else:
                yield WindowedValue(out, MIN_TIMESTAMP, [GlobalWindow()])
        yield from super().finish_bundle()


def _split_by_partition(rows: np.ndarray, part: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """The rows of each partition (``part[i]`` is row i's), in partition order, row order kept."""
    order = np.argsort(part, kind="stable")
    part, rows = part[order], rows[order]
    cuts = np.flatnonzero(np.diff(part)) + 1
    for start, chunk in zip(np.concatenate([[0], cuts]), np.split(rows, cuts)):
        yield int(part[start]), chunk


def _by_partition(items: Iterable[tuple[int, Any]]) -> list[tuple[int, list]]:
    """``(partition, item)`` pairs gathered per partition, in partition order."""
    parts: dict[int, list] = {}
    for q, item in items:
        parts.setdefault(q, []).append(item)
    return sorted(parts.items(), key=lambda kv: kv[0])


class _ExactKeyFn(_BatchFn):
    """Documents leave packed per partition of their group key: ``(partition, blob of (key,
    Document))``. A document whose source has exact dedup off goes along with key None (kept
    as it is), so the stage's only output is the grouping: a second output flattened with the
    kept documents would make the local runner hold them all, decoded, in one more buffer."""

    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def process(self, doc: Document) -> Iterator[Any]:
        self.count(("sources", doc.source, "in"))
        yield from self._add(doc)

    def _flush(self, batch: list[Document]) -> Iterator[Any]:
        n_parts = self.settings.partitions

        def partition(key: Any, doc: Document) -> int:
            return node_partition(node_of(doc), n_parts) if key is None else exact_partition(key, n_parts)

        keyed = [(exact_group_key(doc, self.settings), doc) for doc in batch]
        for q, items in _by_partition((partition(k, d), (k, d)) for k, d in keyed):
            yield q, pack_items(items)


class _ResolveExactFn(beam.DoFn):
    def process(self, kv: tuple) -> Iterator[Any]:
        items = (item for blob in kv[1] for item in unpack_items(blob))
        for tag, value in resolve_exact_partition(items):
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
        keyed = docs | "ExactKey" >> beam.ParDo(_ExactKeyFn(self.settings)).with_outputs(COUNTS, main="keyed")
        # Output: (partition, packed [((scope, text hash) or None, Document)])
        resolved = (
            keyed.keyed
            | "GroupExact" >> beam.GroupByKey()
            | "ResolveExact" >> beam.ParDo(_ResolveExactFn()).with_outputs("dropped", "cluster", COUNTS, main="kept")
        )
        counts = (keyed[COUNTS], resolved[COUNTS]) | "ExactCounts" >> beam.Flatten()
        return DedupResult(resolved.kept, resolved.dropped, resolved.cluster, _stats(counts, "exact", self.settings))


# ---- near -----------------------------------------------------------------------------------


# LSH rows go to this many separate groupings (by partition): the local runner encodes a whole
# grouping at once when it is read (twice its size in memory for a moment), so four groupings
# read one after the other peak at 1.25x the rows instead of 2x (benchmarks/dedup_scale.py).
BAND_GROUPS = 4


def _partition(keys: np.ndarray, partitions: int) -> np.ndarray:
    """The partition of each 64-bit key (band hash, or node hash prefix)."""
    return (keys % np.uint64(partitions)).astype(np.int64)


class _BandRowsFn(_BatchFn):
    """Documents are signed in batches of about 1 MB (numpy calls per batch, not per document:
    2.7x faster on real text, see benchmarks/dedup_speed.py); each batch's LSH rows leave as
    one packed array per (scope, partition) (tagged ``bands<g>``), and its documents as one
    packed blob per node partition (the main output), not an element per band or document."""

    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def process(self, doc: Document) -> Iterator[Any]:
        self.count(("sources", doc.source, "in"))
        yield from self._add(doc)

    def _flush(self, batch: list[Document]) -> Iterator[Any]:
        n_parts = self.settings.partitions
        rows, counts = near_band_rows(batch, self.settings)
        for path, n in counts:
            self.count(path, n)
        for scope, scope_rows in rows.items():
            for q, chunk in _split_by_partition(scope_rows, _partition(scope_rows["band"], n_parts)):
                yield beam.pvalue.TaggedOutput(f"bands{q % BAND_GROUPS}", ((scope, q), chunk.tobytes()))
        nodes = ((node_of(d), d) for d in batch)
        for q, items in _by_partition((node_partition(node, n_parts), (node, d)) for node, d in nodes):
            yield q, pack_items(items)


class _BucketEdgesFn(CountingDoFn):
    """One partition of LSH rows -> star edges of its buckets, packed per edge partition."""

    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def process(self, kv: tuple) -> Iterator[Any]:
        (scope, _), blobs = kv
        rows = np.concatenate([np.frombuffer(b, BAND_ROW) for b in blobs])
        edges, sizes = star_edges(rows)
        for path, n in bucket_counts(scope, sizes, self.settings):
            self.count(path, n)
        if len(edges) == 0:
            return
        # The same pair shares several bands, so it comes from several partitions: group
        # edges by their first node to keep each once.
        raw = np.frombuffer(np.ascontiguousarray(edges["a"]).tobytes(), dtype=np.uint8).reshape(len(edges), NODE_BYTES)
        head = np.ascontiguousarray(raw[:, 4:12]).view(">u8").ravel()  # the id hash's first 8 bytes
        for q, chunk in _split_by_partition(edges, _partition(head, self.settings.partitions)):
            yield q, chunk.tobytes()


def _distinct_edges(kv: tuple) -> Iterator[tuple[bytes, bytes]]:
    """One edge partition -> each candidate pair once, as ``(bucket minimum, member)``."""
    edges = np.unique(np.concatenate([np.frombuffer(b, EDGE) for b in kv[1]]))
    yield from zip(node_list(edges["a"]), node_list(edges["b"]))


class _VerifyFn(CountingDoFn):
    """At the bucket minimum: ``(node_a, [("centre", packed doc_a), ("pair", (edge, packed doc_b))...])``."""

    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def process(self, kv: tuple) -> Iterator[Any]:
        doc_a = None
        pairs = []
        for tag, value in kv[1]:
            if tag == "centre":
                doc_a = unpack_document(value)
            else:
                pairs.append(value)
        if doc_a is None:
            return
        memo: dict = {}  # doc_a's shingle set, computed once for all its pairs
        for edge, blob_b in pairs:
            self.count(("candidate_pairs",))
            if verify_pair(doc_a, unpack_document(blob_b), self.settings, memo):
                self.count(("verified_pairs",))
                yield edge


def _attach_texts(kv: tuple) -> Iterator[Any]:
    """One node partition's documents joined with the edge ends in it: ``(partition, {"docs":
    [blob...], "ends": [(role, edge)...]})`` -> ``(first node, ("pair", (edge, packed doc)))``
    where a document is an edge's second end, once ``(node, ("centre", packed doc))`` where it
    is a first end (a bucket minimum), and the blobs unchanged, tagged ``docs``, for the join
    with the cluster labels (so only one copy of the corpus is ever waiting in a grouping)."""
    blobs, ends = kv[1]["docs"], kv[1]["ends"]
    for blob in blobs:
        yield beam.pvalue.TaggedOutput("docs", (kv[0], blob))
    if not ends:
        return
    wanted = {edge[1] if role == "second" else edge[0] for role, edge in ends}
    docs = {node: doc for blob in blobs for node, doc in unpack_items(blob) if node in wanted}
    centres = set()
    for role, edge in ends:
        if role == "second":
            if edge[1] in docs:
                yield edge[0], ("pair", (edge, pack_document(docs[edge[1]])))
        elif edge[0] not in centres and edge[0] in docs:
            centres.add(edge[0])
            yield edge[0], ("centre", pack_document(docs[edge[0]]))


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
    """A node partition's documents ⨝ their labels: kept documents out; every labelled one
    keyed by its label (``labelled``) and by itself (``keeper``, without meta) for the join with
    its members."""

    def process(self, kv: tuple) -> Iterator[Any]:
        labels = dict(kv[1]["labels"])
        for blob in kv[1]["docs"]:
            for node, doc in unpack_items(blob):
                label = labels.get(node)
                if label is None:
                    yield doc
                    continue
                yield beam.pvalue.TaggedOutput("labelled", (label, pack_document(doc)))
                # Any clustered document may be another's label (its own label differs only
                # when its component did not converge), so all of them go to the keeper join.
                yield beam.pvalue.TaggedOutput("keeper", (node, pack_document(doc._replace(meta={}))))
                if label == node:
                    yield doc


class _ResolveClusterFn(CountingDoFn):
    """Keepers ⨝ (label, packed member) at the label: drops, cluster rows and sizes."""

    def __init__(self, settings: StageSettings) -> None:
        self.settings = settings

    def process(self, kv: tuple) -> Iterator[Any]:
        keepers, members = kv[1]["doc"], kv[1]["members"]
        if not members:
            return
        keeper = unpack_document(keepers[0])
        memo: dict = {}
        size = 0
        for blob in members:
            doc = unpack_document(blob)
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
        groups = [f"bands{g}" for g in range(BAND_GROUPS)]
        bands = docs | "BandRows" >> beam.ParDo(_BandRowsFn(s)).with_outputs(*groups, COUNTS, main="docs")
        # Output: bands<g>: ((scope, partition), packed BAND_ROW array); docs: (node partition, blob)
        buckets = [
            bands[g]
            | f"Group{g.title()}" >> beam.GroupByKey()
            | f"BucketEdges{g[5:]}" >> beam.ParDo(_BucketEdgesFn(s)).with_outputs(COUNTS, main="edges")
            for g in groups
        ]
        # Output: (edge partition, packed EDGE array)
        edges = (
            [b.edges for b in buckets]
            | "AllBucketEdges" >> beam.Flatten()
            | "GroupEdges" >> beam.GroupByKey()
            | "DistinctEdges" >> beam.FlatMap(_distinct_edges)
        )
        # Output: (min node, node), each candidate pair once
        # Verification needs both texts of each edge. One join of the documents with the edge
        # ends (instead of one join per end), whose output carries the documents on to the
        # label join, keeps one copy of the corpus in flight; documents travel packed, since
        # the local runner holds a join's inputs in memory.
        n_parts = s.partitions
        ends = edges | "EdgeEnds" >> beam.FlatMap(
            lambda e: [(node_partition(e[1], n_parts), ("second", e)), (node_partition(e[0], n_parts), ("first", e))]
        )
        attached = (
            {"docs": bands.docs, "ends": ends}
            | "JoinEdgeTexts" >> beam.CoGroupByKey()
            | "AttachTexts" >> beam.FlatMap(_attach_texts).with_outputs("docs", main="pairs")
        )
        verified = (
            attached.pairs
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
        labels = state | "Labels" >> beam.Map(lambda kv: (node_partition(kv[0], n_parts), (kv[0], kv[1][0])))
        # Output: (node partition, (node, label node)): the label is min(C_v), the keeper once converged
        labelled = (
            {"docs": attached.docs, "labels": labels}
            | "JoinLabels" >> beam.CoGroupByKey()
            | "SplitKept" >> beam.ParDo(_LabelDocsFn()).with_outputs("labelled", "keeper", main="kept")
        )
        resolved = (
            {"doc": labelled.keeper, "members": labelled.labelled}
            | "JoinKeepers" >> beam.CoGroupByKey()
            | "ResolveClusters" >> beam.ParDo(_ResolveClusterFn(s)).with_outputs("cluster", COUNTS, main="dropped")
        )
        counts = (bands[COUNTS], *(b[COUNTS] for b in buckets), verified[COUNTS], resolved[COUNTS], *round_counts) | "NearCounts" >> beam.Flatten()
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


class _ReadUniqueDocs(beam.DoFn):
    """The second read of an input: its documents, except those at the side input's
    ``(file, position)`` places (later uses of an id); unreadable records were counted by the
    first read."""

    def __init__(self, id_field: str, text_field: str, source: str) -> None:
        self.fields = (id_field, text_field, source)

    def setup(self) -> None:
        self._list: Any = None
        self._set: set = set()

    def process(self, item: tuple[str, str], places: list) -> Iterator[Document]:
        from dataprep.dedup.io import read_records

        if places is not self._list:  # the side input changes per window/bundle, not per element
            self._list, self._set = places, set(places)
        for record in read_records(item, *self.fields):
            if isinstance(record, Document) and (record.meta["file"], record.meta["position"]) not in self._set:
                yield record


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
    spread = file_items | "Reshuffle" >> beam.Reshuffle()
    read = (
        spread
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
    # The documents are read a second time once the duplicate ids are known, so that no stage
    # holds the whole input waiting for that list (the local runner would keep it in memory).
    docs = spread | "ReadUniqueDocs" >> beam.ParDo(_ReadUniqueDocs(id_field, text_field, source), beam.pvalue.AsList(dup_places))
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
