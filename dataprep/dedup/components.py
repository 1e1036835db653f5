"""Keeper order, LSH bucket edges and connected components (hash-to-min), as pure functions.

Nodes are *keeper keys*, bytes ordered as ``(-length, id hash, id)``: ordering nodes puts the
document to keep first (the longest; among equally long ones the smallest xxh64 of its id, then
the id itself). So the minimum node of a cluster is its keeper, and a component's label is the id of
the document kept from it.

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

import xxhash

Node = bytes  # 4 bytes (2^32 - 1 - length), 8 bytes id hash, then the id in UTF-8

_MAX_LEN = (1 << 32) - 1


def keeper_key(doc_id: str, length: int) -> Node:
    """The sort key that puts the document to keep first: longest, then smallest id hash.

    A ``bytes`` whose order is (longest, smallest xxh64 of the id, id): compact (about 50 bytes
    instead of 180 for a tuple), which matters because the local runner holds every grouped
    element decoded in memory.

    >>> keeper_key("a", 10) < keeper_key("b", 3)
    True
    >>> node_id(keeper_key("日本/x#1", 5))
    '日本/x#1'
    """
    raw = doc_id.encode("utf-8", "surrogatepass")
    prefix = (_MAX_LEN - min(length, _MAX_LEN)).to_bytes(4, "big") + xxhash.xxh64_digest(raw)
    return prefix + raw


def node_id(node: Node) -> str:
    """The document id of a node."""
    return node[12:].decode("utf-8", "surrogatepass")


def node_length(node: Node) -> int:
    """The text length a node was made with (capped at 2^32 - 1)."""
    return _MAX_LEN - int.from_bytes(node[:4], "big")


def bucket_edges(members: Iterable[Node]) -> list[tuple[Node, Node]]:
    """Edges from each member of one LSH bucket to the bucket's minimum node.

    Linear in the bucket size (two passes); duplicates of the same node are ignored.

    >>> a, b, c = keeper_key("a", 9), keeper_key("b", 5), keeper_key("c", 5)
    >>> [(node_id(x), node_id(y)) for x, y in bucket_edges([b, a, c, a])]
    [('a', 'b'), ('a', 'c')]
    """
    distinct = sorted(set(members))
    if len(distinct) < 2:
        return []
    head = distinct[0]
    return [(head, m) for m in distinct[1:]]


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
    >>> sorted(node_id(label[n]) for n in (a, b, c)), changed
    (['a', 'a', 'a'], [2, 2, 0, 0])
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
