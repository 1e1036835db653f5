"""In-memory deduplication with exactly the semantics of the Beam transforms.

`drop_exact_duplicates` and `drop_near_duplicates` run the same pure steps as
``pipelines.dedup.DropExactDuplicates`` / ``DropNearDuplicates`` in one process. They are the
oracle the Beam tests compare against and what the accuracy benchmark uses; for real corpora use
the Beam transforms (``dataprep build`` or ``dataprep dedup``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, NamedTuple

from dataprep.dedup.components import hash_to_min, node_list, star_edges
from dataprep.dedup.config import StageSettings
from dataprep.dedup.stage import (
    NEAR_REASON,
    Count,
    bucket_counts,
    cluster_row,
    dropped,
    exact_group_key,
    keeper_similarity,
    near_band_rows,
    node_of,
    resolve_exact_group,
    stats_from_counts,
    verify_pair,
)
from dataprep.records import Document, Dropped


class DedupOutcome(NamedTuple):
    """What a dedup stage returns: kept documents, drops, cluster rows and a stats dict."""

    kept: list[Document]
    dropped: list[Dropped]
    clusters: list[dict[str, Any]]
    stats: dict[str, Any]


def drop_exact_duplicates(docs: Iterable[Document], stage: StageSettings) -> DedupOutcome:
    """Keep one document per group of exact duplicates (see `dataprep.dedup.exact`)."""
    kept: list[Document] = []
    drops: list[Dropped] = []
    clusters: list[dict[str, Any]] = []
    counts: list[Count] = []
    groups: dict[tuple[str, str], list[Document]] = defaultdict(list)
    for doc in docs:
        counts.append((("sources", doc.source, "in"), 1))
        key = exact_group_key(doc, stage)
        if key is None:
            kept.append(doc)
        else:
            groups[key].append(doc)
    for members in groups.values():
        for tag, value in resolve_exact_group(members):
            {"kept": kept, "dropped": drops, "cluster": clusters, "count": counts}[tag].append(value)
    return DedupOutcome(kept, drops, clusters, stats_from_counts("exact", counts, stage))


def drop_near_duplicates(docs: Iterable[Document], stage: StageSettings) -> DedupOutcome:
    """Keep one document per cluster of near duplicates: MinHash LSH candidates, verified, then
    connected components by hash-to-min (see `dataprep.dedup.components`)."""
    docs = list(docs)
    by_node = {node_of(d): d for d in docs}
    counts: list[Count] = [(("sources", d.source, "in"), 1) for d in docs]
    rows, no_shingles = near_band_rows(docs, stage)
    counts.extend(no_shingles)
    edges: set = set()
    for scope, scope_rows in rows.items():
        star, sizes = star_edges(scope_rows)
        edges.update(zip(node_list(star["a"]), node_list(star["b"])))
        counts.extend(bucket_counts(scope, sizes, stage))
    counts.append((("candidate_pairs",), len(edges)))
    verified = [(a, b) for a, b in sorted(edges) if verify_pair(by_node[a], by_node[b], stage)]
    counts.append((("verified_pairs",), len(verified)))
    labels, changed = hash_to_min(verified, stage.max_rounds)
    counts.extend((("changed", str(i)), n) for i, n in enumerate(changed))
    members: dict[Any, list] = defaultdict(list)
    for v, label in labels.items():
        members[label].append(v)
    drops: list[Dropped] = []
    clusters: list[dict[str, Any]] = []
    dropped_ids = set()
    for label, nodes in members.items():
        keeper = by_node[label]
        counts.append((("cluster_sizes", str(len(nodes))), 1))
        for v in nodes:
            doc = by_node[v]
            if v == label:
                clusters.append(cluster_row(doc, keeper.id, True, 1.0, "near"))
            else:
                dropped_ids.add(doc.id)
                drops.append(dropped(doc, NEAR_REASON))
                clusters.append(cluster_row(doc, keeper.id, False, keeper_similarity(doc, keeper, stage), "near"))
                counts.append((("sources", doc.source, "dropped_" + NEAR_REASON), 1))
    kept = [d for d in docs if d.id not in dropped_ids]
    return DedupOutcome(kept, drops, clusters, stats_from_counts("near", counts, stage))
