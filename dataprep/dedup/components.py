"""Keeper order, LSH bucket edges and connected components (hash-to-min), as pure functions.

Nodes are *keeper keys*, 20 bytes ordered as ``(-length, id hash)``: ordering nodes puts the
document to keep first (the longest; among equally long ones the smallest 128-bit xxh3 hash of
its id). So the minimum node of a cluster is its keeper. Nodes are fixed-size so that the LSH
graph travels as packed numpy rows (see `dataprep.dedup.stage.band_rows`), not as one Python
object per band and document; a node is mapped back to its document by a join on
``keeper_key(doc.id, len(doc.text))``. Two ids collide with probability 2^-128 per pair.

Candidate edges go from every member of an LSH bucket to the bucket's minimum node only (a star,
``len(bucket) - 1`` edges instead of all pairs), which bounds the fan-out of a bucket of 10,000
identical documents to 9,999 edges.

Connected components use hash-to-min (Rastogi et al., "Finding Connected Components in
Map-Reduce in Logarithmic Rounds", ICDE 2013): each node ``v`` holds a set ``C_v`` (initially
itself and its neighbours); in a round it sends ``C_v`` to ``m = min(C_v)`` and ``{m}`` to every
member of ``C_v``; the new ``C_v`` is the union of what ``v`` received. At the fixed point the
minimum node of each component holds the whole component and every other node holds only the
minimum; it takes about ``2·log2(diameter)`` rounds. Every round is one grouping by node, so it
distributes (``pipelines.dedup`` runs the same functions in Beam). After ``max_rounds`` a node's
label is ``min(C_v)``: if a component has not converged, it is split into several clusters,
each labelled by a node of the component, and the component minimum always keeps itself. That
is safe (some duplicates are kept, none is lost) and counted as unconverged nodes.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import xxhash

Node = bytes  # 4 bytes (2^32 - 1 - length), then the 16-byte xxh3-128 digest of the id
NODE_BYTES = 20

_MAX_LEN = (1 << 32) - 1


def keeper_key(doc_id: str, length: int) -> Node:
    """The sort key that puts the document to keep first: longest, then smallest id hash.

    20 bytes whose order is (longest, smallest xxh3-128 of the UTF-8 id): fixed-size, so LSH
    rows pack into numpy arrays of 28 bytes (band hash + node) per band and document.

    >>> keeper_key("a", 10) < keeper_key("b", 3)
    True
    >>> len(keeper_key("日本/x#1", 5)), node_length(keeper_key("日本/x#1", 5))
    (20, 5)
    """
    raw = doc_id.encode("utf-8", "surrogatepass")
    return (_MAX_LEN - min(length, _MAX_LEN)).to_bytes(4, "big") + xxhash.xxh3_128_digest(raw)


def node_length(node: Node) -> int:
    """The text length a node was made with (capped at 2^32 - 1)."""
    return _MAX_LEN - int.from_bytes(node[:4], "big")


def node_list(nodes: np.ndarray) -> list[Node]:
    """The nodes of an ``S20`` numpy array as ``bytes`` (numpy would strip trailing NULs)."""
    raw = np.ascontiguousarray(nodes).tobytes()
    return [raw[i : i + NODE_BYTES] for i in range(0, len(raw), NODE_BYTES)]


BAND_ROW = np.dtype([("band", "<u8"), ("node", f"S{NODE_BYTES}")])  # one LSH bucket membership
EDGE = np.dtype([("a", f"S{NODE_BYTES}"), ("b", f"S{NODE_BYTES}")])  # a < b: a bucket minimum and a member


def star_edges(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges from each member of every LSH bucket in ``rows`` to the bucket's minimum node.

    ``rows`` is a `BAND_ROW` array (a row per band hash and document, any order, repeats
    ignored). Returns ``(edges, sizes)``: an `EDGE` array (``len(bucket) - 1`` star edges per
    bucket instead of all pairs, so a bucket of 10,000 identical documents costs 9,999 edges)
    and the size of every bucket. Vectorised: one sort of the rows, no per-bucket Python.

    >>> a, b, c = keeper_key("a", 9), keeper_key("b", 5), keeper_key("c", 5)
    >>> rows = np.array([(7, b), (7, a), (7, c), (7, a), (8, c)], dtype=BAND_ROW)
    >>> edges, sizes = star_edges(rows)
    >>> [(x == a, y in (b, c)) for x, y in zip(node_list(edges["a"]), node_list(edges["b"]))], sizes.tolist()
    ([(True, True), (True, True)], [3, 1])
    """
    rows = np.unique(rows)  # sorted by (band, node): each bucket's minimum comes first
    if len(rows) == 0:
        return np.empty(0, EDGE), np.empty(0, np.int64)
    band = rows["band"]
    first = np.empty(len(rows), dtype=bool)
    first[0] = True
    np.not_equal(band[1:], band[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, len(rows)))
    heads = np.repeat(rows["node"][starts], sizes)
    member = ~first
    edges = np.empty(int(member.sum()), EDGE)
    edges["a"] = heads[member]
    edges["b"] = rows["node"][member]
    return edges, sizes


def initial_clusters(edges: Iterable[tuple[Node, Node]]) -> dict[Node, frozenset]:
    """``C_v = {v} ∪ neighbours(v)`` for every node of ``edges`` (in-memory helper)."""
    out: dict[Node, set] = {}
    for a, b in edges:
        out.setdefault(a, {a}).add(b)
        out.setdefault(b, {b}).add(a)
    return {k: frozenset(v) for k, v in out.items()}


def hash_to_min_messages(node: Node, cluster: frozenset) -> Iterator[tuple[Node, frozenset]]:
    """One round's messages of ``node``: ``C_v`` to ``min(C_v)`` and ``{min}`` to every member."""
    m = min(cluster)
    yield m, cluster
    single = frozenset((m,))
    for u in cluster:
        if u != m:
            yield u, single


def merge_messages(messages: Iterable[frozenset]) -> frozenset:
    """The new ``C_v``: the union of the messages ``v`` received."""
    out: set = set()
    for msg in messages:
        out |= msg
    return frozenset(out)


def hash_to_min(edges: Iterable[tuple[Node, Node]], max_rounds: int = 10) -> tuple[dict[Node, Node], list[int]]:
    """Connected components of ``edges`` in memory, by the same rounds as the Beam pipeline.

    Returns ``(label, changed)``: ``label[v]`` is the minimum node ``v`` reached (its
    component's minimum once converged) and ``changed[i]`` the number of nodes whose set changed
    in round ``i + 1`` (``max_rounds`` entries; once a round changes nothing, the rest are 0, and
    a non-zero last entry means some components did not converge).

    >>> a, b, c = keeper_key("a", 9), keeper_key("b", 8), keeper_key("c", 7)
    >>> label, changed = hash_to_min([(b, c), (a, b)], max_rounds=4)
    >>> [label[n] == a for n in (a, b, c)], changed
    ([True, True, True], [2, 2, 0, 0])
    """
    clusters = initial_clusters(edges)
    changed: list[int] = []
    while len(changed) < max_rounds:
        if changed and changed[-1] == 0:
            changed.append(0)  # a fixed point stays one
            continue
        inbox: dict[Node, list[frozenset]] = {}
        for v, c in clusters.items():
            for target, msg in hash_to_min_messages(v, c):
                inbox.setdefault(target, []).append(msg)
        new = {v: merge_messages(msgs) for v, msgs in inbox.items()}
        changed.append(sum(1 for v, c in new.items() if clusters.get(v) != c))
        clusters = new
    return {v: min(c) for v, c in clusters.items()}, changed


class UnionFind:
    """Union-find whose root is always the minimum node (deterministic whatever the edge order).

    Used as the reference in tests and by the in-memory path; the Beam pipeline uses hash-to-min.
    """

    def __init__(self) -> None:
        self.parent: dict[Node, Node] = {}

    def find(self, x: Node) -> Node:
        """Root of ``x`` (with path halving)."""
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: Node, b: Node) -> None:
        """Merge the sets of ``a`` and ``b``; the smaller root wins."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def labels(self) -> dict[Node, Node]:
        """Every node mapped to its root (its component's minimum node)."""
        return {x: self.find(x) for x in list(self.parent)}
