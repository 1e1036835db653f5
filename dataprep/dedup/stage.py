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

import pickle
import threading
from collections import Counter
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from dataprep.dedup.components import BAND_ROW, Node, keeper_key
from dataprep.dedup.config import StageSettings
from dataprep.dedup.exact import exact_key
from dataprep.dedup.minhash import band_hashes, is_empty_signature, signatures
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


def near_band_rows(docs: Sequence[Document], stage: StageSettings) -> tuple[dict[str, np.ndarray], list[Count]]:
    """The LSH rows of a batch of documents, per comparison scope: a `BAND_ROW` (band hash,
    node) for every band of every document with near dedup on, and the counts of documents
    without a shingle (``("sources", source, "no_shingles")``; they have no rows).

    Signatures and band hashes are computed per batch (`dataprep.dedup.minhash.signatures`,
    `band_hashes`): numpy calls per batch, not per document or band.
    """
    rows: dict[str, list[np.ndarray]] = {}
    counts: list[Count] = []
    groups: dict[Any, list[int]] = {}
    for i, d in enumerate(docs):
        s = stage.for_source(d.source)
        if s.near:
            groups.setdefault(s, []).append(i)
    for s, idx in groups.items():
        sigs = signatures([docs[i].text for i in idx], s)
        keys = band_hashes(sigs, s.bands, s.rows)
        for i, sig, k in zip(idx, sigs, keys):
            doc = docs[i]
            if is_empty_signature(sig):
                counts.append((("sources", doc.source, "no_shingles"), 1))
                continue
            r = np.empty(len(k), BAND_ROW)
            r["band"] = k
            r["node"] = node_of(doc)
            rows.setdefault(scope_of(doc, stage), []).append(r)
    return {scope: np.concatenate(parts) for scope, parts in rows.items()}, counts


def bucket_counts(scope: str, sizes: np.ndarray, stage: StageSettings) -> list[Count]:
    """Statistics of LSH buckets of ``sizes`` members: oversized buckets counted per scope."""
    n = int(np.count_nonzero(sizes > stage.oversized_bucket))
    return [(("oversized_buckets", scope), n)] if n else []


# ---- payloads --------------------------------------------------------------------------------

_ZSTD_LEVEL = 1  # 6 us per 800-char document; level 3 compresses no better on short texts


def pack_document(doc: Document) -> bytes:
    """A document as compressed bytes, for the groupings that carry single documents.

    Beam's in-process runner holds every grouped value decoded in memory: a `Document` of 800
    characters costs about 1.3 KB as Python objects and 440 bytes packed (pickle + zstd level
    1), measured on ``benchmarks/dedup_scale.py`` documents.
    """
    return _compressor().compress(pickle.dumps(tuple(doc), protocol=5))


def unpack_document(blob: bytes) -> Document:
    """The `Document` packed by `pack_document`."""
    return Document(*pickle.loads(_decompressor().decompress(blob)))


def pack_items(items: Sequence[tuple[Any, Document]]) -> bytes:
    """Many ``(key, Document)`` pairs as one compressed blob: the groupings that carry the whole
    corpus hold a few large values per partition instead of an object per document."""
    return _compressor().compress(pickle.dumps([(k, tuple(d)) for k, d in items], protocol=5))


def unpack_items(blob: bytes) -> list[tuple[Any, Document]]:
    """The ``(key, Document)`` pairs packed by `pack_items`."""
    return [(k, Document(*t)) for k, t in pickle.loads(_decompressor().decompress(blob))]


def node_partition(node: Node, partitions: int) -> int:
    """The partition of a node (from its id hash, so uniform)."""
    return int.from_bytes(node[4:12], "big") % partitions


def exact_partition(key: tuple[str, str], partitions: int) -> int:
    """The partition of an exact-duplicate group key ``(scope, hex text hash)``."""
    return int(key[1][:16], 16) % partitions


def resolve_exact_partition(items: Iterable[tuple[tuple[str, str] | None, Document]]) -> Iterator[tuple[str, Any]]:
    """`resolve_exact_group` for every group of a partition's ``(key, Document)`` pairs; a
    document with key None (exact dedup off for its source) is kept as it is."""
    groups: dict[tuple[str, str], list[Document]] = {}
    for key, doc in items:
        if key is None:
            yield "kept", doc
        else:
            groups.setdefault(key, []).append(doc)
    for members in groups.values():
        yield from resolve_exact_group(members)


_LOCAL = threading.local()  # zstandard's (de)compressor objects must not be shared by threads


def _compressor() -> Any:
    if not hasattr(_LOCAL, "compressor"):
        import zstandard

        _LOCAL.compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
    return _LOCAL.compressor


def _decompressor() -> Any:
    if not hasattr(_LOCAL, "decompressor"):
        import zstandard

        _LOCAL.decompressor = zstandard.ZstdDecompressor()
    return _LOCAL.decompressor


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
