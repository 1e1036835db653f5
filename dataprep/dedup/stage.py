"""Per-document and per-group steps shared by the Beam pipeline and the in-memory reference.

Everything here is a pure function of its arguments, so ``pipelines.dedup`` (Beam) and
`dataprep.dedup.local` (one process, used as the test oracle and by the benchmarks) produce
exactly the same kept documents, drops, cluster rows and statistics.

Cluster rows are dicts ``{id, source, cluster_id, kept, similarity, stage}``: ``cluster_id`` is
the id of the document kept from the cluster (so the kept id of a dropped document is its
``cluster_id``), ``similarity`` its similarity to that document (1.0 for the kept one and for
exact duplicates), ``stage`` ``"exact"`` or ``"near"``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Iterator, Sequence

from dataprep.dedup.components import Node, bucket_edges, keeper_key
from dataprep.dedup.config import StageSettings
from dataprep.dedup.exact import exact_key
from dataprep.dedup.minhash import band_keys, is_empty_signature, signatures
from dataprep.dedup.verify import is_duplicate, pair_metric, similarity
from dataprep.records import Document, Dropped

EXACT_REASON = "exact_duplicate"
NEAR_REASON = "near_duplicate"
Count = tuple[tuple[str, ...], int]


def scope_of(doc: Document, stage: StageSettings) -> str:
    """The partition a document is compared within: its source, or ``"*"`` for global scope."""
    return doc.source if stage.scope == "source" else "*"


def node_of(doc: Document) -> Node:
    """The document's keeper key (see `dataprep.dedup.components.keeper_key`)."""
    return keeper_key(doc.id, len(doc.text))


def dropped(doc: Document, reason: str) -> Dropped:
    """The `Dropped` record of a duplicate, with the document's provenance."""
    meta = doc.meta or {}
    return Dropped(doc.id, doc.source, reason, str(meta.get("file", "")), meta.get("position"))


def cluster_row(doc: Document, cluster_id: str, kept: bool, sim: float, stage: str) -> dict[str, Any]:
    """One row of ``clusters.parquet``."""
    return {"id": doc.id, "source": doc.source, "cluster_id": cluster_id, "kept": kept, "similarity": float(sim), "stage": stage}


# ---- exact ----------------------------------------------------------------------------------


def exact_group_key(doc: Document, stage: StageSettings) -> tuple[str, str] | None:
    """``(scope, text hash)`` to group on, or None when exact dedup is off for the source."""
    if not stage.for_source(doc.source).exact:
        return None
    return scope_of(doc, stage), exact_key(doc.text)


def resolve_exact_group(docs: Iterable[Document]) -> Iterator[tuple[str, Any]]:
    """Decide one group of exact duplicates: yields ``("kept", doc)`` for the keeper (longest
    raw text, then smallest id hash), ``("dropped", Dropped)`` for the others, ``("cluster",
    row)`` for every member when there are several, and ``("count", (path, n))`` statistics."""
    members = sorted(docs, key=node_of)
    keeper = members[0]
    yield "kept", keeper
    if len(members) > 1:
        yield "count", (("cluster_sizes", str(len(members))), 1)
        yield "cluster", cluster_row(keeper, keeper.id, True, 1.0, "exact")
        for d in members[1:]:
            yield "dropped", dropped(d, EXACT_REASON)
            yield "cluster", cluster_row(d, keeper.id, False, 1.0, "exact")
            yield "count", (("sources", d.source, "dropped_" + EXACT_REASON), 1)


# ---- near -----------------------------------------------------------------------------------


def near_band_keys_batch(docs: Sequence[Document], stage: StageSettings) -> list[list[tuple[str, bytes]] | None]:
    """The LSH band keys of each document (``(scope, key)`` pairs): ``[]`` when it has no
    shingle, None when near dedup is off for its source. Signatures are computed per batch (see
    `dataprep.dedup.minhash.signatures`), several times faster than one at a time on short texts."""
    out: list[list[tuple[str, bytes]] | None] = [None] * len(docs)
    groups: dict[Any, list[int]] = {}
    for i, d in enumerate(docs):
        s = stage.for_source(d.source)
        if s.near:
            groups.setdefault(s, []).append(i)
    for s, idx in groups.items():
        sigs = signatures([docs[i].text for i in idx], s)
        for i, sig in zip(idx, sigs):
            if is_empty_signature(sig):
                out[i] = []
            else:
                scope = scope_of(docs[i], stage)
                out[i] = [(scope, k) for k in band_keys(sig, s.bands, s.rows)]
    return out


def bucket_to_edges(scope: str, members: Iterable[Node], stage: StageSettings) -> tuple[list[tuple[Node, Node]], list[Count]]:
    """Star edges of one bucket and its statistics (oversized buckets counted per scope)."""
    edges = bucket_edges(members)
    counts: list[Count] = []
    if len(edges) + 1 > stage.oversized_bucket:
        counts.append((("oversized_buckets", scope), 1))
    return edges, counts


def verify_pair(a: Document, b: Document, stage: StageSettings, memo: dict | None = None) -> bool:
    """Whether a candidate pair is a duplicate: the stricter of the two sources' thresholds,
    Levenshtein if either source asks for it; always true without verification. ``memo``
    caches shingle sets while one document is compared with many (see `verify.similarity`)."""
    sa, sb = stage.for_source(a.source), stage.for_source(b.source)
    if not sa.verify:
        return True
    return is_duplicate(a.text, b.text, sa, pair_metric(sa, sb), max(sa.threshold, sb.threshold), memo)


def keeper_similarity(doc: Document, keeper: Document, stage: StageSettings, memo: dict | None = None) -> float:
    """The similarity of a dropped document to its cluster's kept one (no cutoff: reported).
    Both metrics are symmetric; the keeper goes first so a ``memo`` reuses its shingle set."""
    sa, sb = stage.for_source(doc.source), stage.for_source(keeper.source)
    return similarity(keeper.text, doc.text, sa, pair_metric(sa, sb), memo=memo)


def stats_from_counts(stage_name: str, counts: Iterable[Count], settings: StageSettings) -> dict[str, Any]:
    """Assemble the stage's statistics dict (for the manifest) from summed counters.

    Counter paths: ``("sources", source, name)``, ``("cluster_sizes", size)``,
    ``("oversized_buckets", scope)``, ``("changed", round)`` and top-level names.
    """
    total: Counter = Counter()
    for path, n in counts:
        total[tuple(path)] += n
    out: dict[str, Any] = {"stage": stage_name, "sources": {}, "cluster_sizes": {}}
    if stage_name == "near":
        out.update(
            {
                "scope": settings.scope,
                "candidate_pairs": 0,
                "verified_pairs": 0,
                "oversized_buckets": {},
                "oversized_bucket_size": settings.oversized_bucket,
                "max_rounds": settings.max_rounds,
                "changed_per_round": [0] * settings.max_rounds,
                "unconverged_nodes": 0,
            }
        )
    for path, n in sorted(total.items()):
        if path[0] == "sources":
            out["sources"].setdefault(path[1], {})[path[2]] = n
        elif path[0] == "cluster_sizes":
            out["cluster_sizes"][path[1]] = n
        elif path[0] == "oversized_buckets":
            out["oversized_buckets"][path[1]] = n
        elif path[0] == "changed":
            out["changed_per_round"][int(path[1])] = n
        else:
            out[path[0]] = n
    out["cluster_sizes"] = dict(sorted(out["cluster_sizes"].items(), key=lambda kv: int(kv[0])))
    reason = EXACT_REASON if stage_name == "exact" else NEAR_REASON
    for src in out["sources"].values():
        src.setdefault("in", 0)
        src.setdefault("dropped_" + reason, 0)
        src["kept"] = src["in"] - src["dropped_" + reason]
    if stage_name == "near":
        out["unconverged_nodes"] = out["changed_per_round"][-1] if out["changed_per_round"] else 0
    return out
