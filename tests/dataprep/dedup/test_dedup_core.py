"""Exact key, verification, components, keeper rule, config and the in-memory stages."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from dataprep.configs import from_mapping
from dataprep.dedup.components import BAND_ROW, NODE_BYTES, UnionFind, hash_to_min, keeper_key, node_length, node_list, star_edges
from dataprep.dedup.config import DedupConfig, SourceDedup, stage_settings
from dataprep.dedup.exact import exact_key, normalize_for_exact
from dataprep.dedup.local import drop_exact_duplicates, drop_near_duplicates
from dataprep.dedup.verify import is_duplicate, jaccard, levenshtein_similarity, similarity
from dataprep.dedup.config import DedupSettings
from dataprep.errors import RecipeError
from dataprep.records import Document, Dropped


def doc(i: object, text: str, source: str = "s") -> Document:
    return Document(f"{source}/f#{i}", source, text, {"file": "f", "position": i})


# ---- exact ----


def test_exact_key_normalisation_is_conservative() -> None:
    assert exact_key("a b\r\nc  \n\n") == exact_key("a b\nc")
    assert exact_key("Caf\u0065\u0301") == exact_key("Caf\u00e9")  # NFC
    assert exact_key("Hello") != exact_key("hello")  # case kept
    assert exact_key("a  b") != exact_key("a b")  # inner spacing kept
    assert exact_key("    x = 1") != exact_key("x = 1")  # indentation kept
    assert normalize_for_exact("\n\nx\n") == "x"


def test_exact_stage_keeps_longest_then_smallest_id_hash() -> None:
    docs = [doc(1, "same text"), doc(2, "same text  \n"), doc(3, "other"), doc(4, "same text")]
    out = drop_exact_duplicates(docs, stage_settings(DedupConfig()))
    assert {d.id for d in out.kept} == {"s/f#2", "s/f#3"}  # #2 is the longest raw text
    assert sorted(out.dropped) == [Dropped("s/f#1", "s", "exact_duplicate", "f", 1), Dropped("s/f#4", "s", "exact_duplicate", "f", 4)]
    rows = {r["id"]: r for r in out.clusters}
    assert rows["s/f#1"]["cluster_id"] == "s/f#2" and rows["s/f#2"]["kept"] and not rows["s/f#4"]["kept"]
    assert out.stats["sources"]["s"] == {"in": 4, "kept": 2, "dropped_exact_duplicate": 2}
    assert out.stats["cluster_sizes"] == {"3": 1}


def test_exact_scope_per_source_and_global() -> None:
    docs = [doc(1, "same", "a"), doc(2, "same", "b")]
    assert len(drop_exact_duplicates(docs, stage_settings(DedupConfig())).kept) == 2
    assert len(drop_exact_duplicates(docs, stage_settings(DedupConfig(scope="global"))).kept) == 1


def test_ten_thousand_identical_documents_are_linear() -> None:
    docs = [doc(i, "the very same page " * 20) for i in range(10_000)]
    t = time.perf_counter()
    exact = drop_exact_duplicates(docs, stage_settings(DedupConfig()))
    near = drop_near_duplicates(docs, stage_settings(DedupConfig()))
    assert time.perf_counter() - t < 20
    assert len(exact.kept) == 1 and len(exact.dropped) == 9_999
    assert len(near.kept) == 1 and len(near.dropped) == 9_999
    # star edges: one bucket per band, 9,999 edges each, deduplicated to 9,999 candidate pairs
    assert near.stats["candidate_pairs"] == 9_999
    assert near.stats["oversized_buckets"] == {"s": 20}  # one bucket per band
    assert near.stats["cluster_sizes"] == {"10000": 1}


# ---- verification ----


def test_jaccard_and_levenshtein() -> None:
    assert jaccard(np.array([1, 2, 3], dtype=np.uint64), np.array([3, 4], dtype=np.uint64)) == 0.25
    assert jaccard(np.array([], dtype=np.uint64), np.array([], dtype=np.uint64)) == 1.0
    assert levenshtein_similarity("abcd", "abce") == 0.75
    assert levenshtein_similarity("abcd", "abce", score_cutoff=0.8) == 0.0
    assert levenshtein_similarity("a", "a" * 10, score_cutoff=0.5) == 0.0  # by length alone
    assert levenshtein_similarity("", "") == 1.0


def test_levenshtein_falls_back_to_jaccard_for_long_documents() -> None:
    s = DedupSettings(metric="levenshtein", max_levenshtein_chars=100)
    a = " ".join(f"w{i}" for i in range(100))
    b = a.replace("w50", "x50")
    assert similarity(a, b, s) == similarity(a, b, DedupSettings(metric="jaccard"))
    short = DedupSettings(metric="levenshtein")
    assert similarity(a, b, short) == pytest.approx(1 - 1 / len(a))
    assert is_duplicate(a, b, short)


# ---- components ----


def _rows(band: int, nodes: list[bytes]) -> np.ndarray:
    r = np.empty(len(nodes), BAND_ROW)
    r["band"], r["node"] = band, nodes
    return r


def test_star_edges_form_a_star_on_each_bucket_minimum() -> None:
    nodes = [keeper_key(f"d{i}", 10) for i in range(5)]
    # Nodes ending in NUL bytes must come back whole (numpy strips them from S items).
    nul = b"\x00" * 4 + b"\x01" + b"\x00" * 15
    rows = np.concatenate([_rows(3, nodes + nodes[:2]), _rows(1, nodes[:1] * 3), _rows(2, [nul, nodes[0]])])
    edges, sizes = star_edges(rows[::-1])
    pairs = list(zip(node_list(edges["a"]), node_list(edges["b"])))
    assert sorted(sizes.tolist()) == [1, 2, 5]
    assert (nul, nodes[0]) in pairs or (nodes[0], nul) in pairs
    star = [(a, b) for a, b in pairs if nul not in (a, b)]
    assert len(star) == 4 and all(a == min(nodes) for a, _ in star)
    assert sorted(b for _, b in star) == sorted(set(nodes) - {min(nodes)})
    assert len(star_edges(np.empty(0, BAND_ROW))[0]) == 0


def test_keeper_is_longest_then_smallest_id_hash() -> None:
    assert min(keeper_key("a", 5), keeper_key("b", 9)) == keeper_key("b", 9)
    x, y = keeper_key("x", 5), keeper_key("y", 5)
    assert min(x, y)[4:] == min(x[4:], y[4:])  # equal lengths: the smaller id hash
    assert len(keeper_key("naïve/ü#3", 7)) == NODE_BYTES and node_length(keeper_key("naïve/ü#3", 7)) == 7
    assert len({keeper_key(f"d{i}", 1) for i in range(10000)}) == 10000


@pytest.mark.parametrize("seed", range(5))
def test_hash_to_min_equals_union_find(seed: int) -> None:
    rng = random.Random(seed)
    nodes = [keeper_key(f"d{i}", rng.randint(1, 5)) for i in range(300)]
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(250)]
    edges = [(a, b) for a, b in edges if a != b]
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    labels, changed = hash_to_min(edges, max_rounds=30)
    assert changed[-1] == 0
    assert labels == uf.labels()


def test_hash_to_min_long_path_converges_in_log_rounds_and_splits_safely_when_cut_short() -> None:
    nodes = [keeper_key(f"d{i:04d}", 1) for i in range(1024)]
    path = list(zip(nodes, nodes[1:]))
    labels, changed = hash_to_min(path, max_rounds=30)
    assert len(set(labels.values())) == 1 and changed.index(0) <= 2 * 10 + 2
    short, changed = hash_to_min(path, max_rounds=2)
    assert changed[-1] > 0  # counted as unconverged
    assert min(nodes) in short.values() and short[min(nodes)] == min(nodes)  # minimum keeps itself
    assert all(label <= v for v, label in short.items())


# ---- near ----


BASE = " ".join(f"token{i}" for i in range(200))


def test_near_stage_drops_near_duplicates_and_records_the_keeper() -> None:
    docs = [doc(1, BASE), doc(2, BASE + " tail words here"), doc(3, BASE.replace("token100", "other")), doc(4, "unrelated text " * 30), doc(5, "")]
    out = drop_near_duplicates(docs, stage_settings(DedupConfig()))
    assert {d.id for d in out.kept} == {"s/f#2", "s/f#4", "s/f#5"}
    keeper = {r["id"]: r for r in out.clusters}
    assert keeper["s/f#1"]["cluster_id"] == "s/f#2" and keeper["s/f#3"]["cluster_id"] == "s/f#2"
    assert 0.8 <= keeper["s/f#1"]["similarity"] < 1.0
    assert out.stats["sources"]["s"]["no_shingles"] == 1
    assert out.stats["sources"]["s"]["dropped_near_duplicate"] == 2


def test_verification_rejects_lsh_false_positives() -> None:
    a = BASE
    b = " ".join(f"token{i}" for i in range(150)) + " " + " ".join(f"zz{i}" for i in range(70))
    cfg = DedupConfig(bands=64, rows=1)  # every pair with one equal value collides
    loose = drop_near_duplicates([doc(1, a), doc(2, b)], stage_settings(DedupConfig(bands=64, rows=1, verify=False)))
    strict = drop_near_duplicates([doc(1, a), doc(2, b)], stage_settings(cfg))
    assert len(loose.kept) == 1 and len(strict.kept) == 2
    assert strict.stats["candidate_pairs"] == 1 and strict.stats["verified_pairs"] == 0


def test_near_result_is_independent_of_input_order() -> None:
    rng = random.Random(0)
    docs = []
    for g in range(20):
        base = " ".join(f"g{g}w{i}" for i in range(120))
        for v in range(rng.randint(1, 4)):
            words = base.split()
            words[rng.randrange(len(words))] = "edit"
            docs.append(doc(f"{g}-{v}", " ".join(words)))
    first = drop_near_duplicates(docs, stage_settings(DedupConfig()))
    for seed in range(3):
        shuffled = docs[:]
        random.Random(seed).shuffle(shuffled)
        again = drop_near_duplicates(shuffled, stage_settings(DedupConfig()))
        assert sorted(again.kept) == sorted(first.kept)
        assert sorted(again.clusters, key=lambda r: r["id"]) == sorted(first.clusters, key=lambda r: r["id"])
        assert again.stats == first.stats


# ---- config ----


def test_config_defaults_and_resolution() -> None:
    cfg = from_mapping(DedupConfig, {"threshold": 0.85}, "dedup")
    class Spec:
        def __init__(self, name: str, kind: str, dedup: SourceDedup = SourceDedup()) -> None:
            self.name, self.kind, self.dedup = name, kind, dedup
    st = stage_settings(cfg, [Spec("web", "web"), Spec("code", "code"), Spec("books", "books", SourceDedup(near=False))])
    assert st.for_source("web").metric == "jaccard" and st.for_source("web").shingle == "word"
    assert st.for_source("code").metric == "levenshtein" and st.for_source("code").shingle == "char"
    assert not st.for_source("books").near
    assert (st.for_source("web").bands, st.for_source("web").rows) == (16, 8)  # candidate 0.75
    assert st.for_source("code").candidate_threshold == pytest.approx(0.55)
    glob = stage_settings(DedupConfig(scope="global"), [Spec("web", "web"), Spec("code", "code")])
    assert glob.for_source("code").shingle == "word" and glob.for_source("code").metric == "levenshtein"


@pytest.mark.parametrize(
    "mapping,key",
    [
        ({"threshold": 0}, "dedup.threshold"),
        ({"treshold": 0.8}, "dedup.treshold"),
        ({"bands": 20, "rows": 10}, "dedup.bands"),
        ({"bands": 4}, "dedup.bands"),
        ({"shingle": "char", "ngram": 9}, "dedup.ngram"),
        ({"metric": "cosine"}, "dedup.metric"),
    ],
)
def test_config_errors_name_the_key(mapping: dict, key: str) -> None:
    with pytest.raises(RecipeError) as e:
        from_mapping(DedupConfig, mapping, "dedup")
    assert e.value.key == key


def test_global_scope_rejects_different_shingles() -> None:
    class Spec:
        name, kind, dedup = "code", "code", SourceDedup(shingle="char")
    with pytest.raises(RecipeError):
        stage_settings(DedupConfig(scope="global"), [Spec()])


def test_packed_documents_round_trip() -> None:
    from dataprep.dedup.stage import pack_document, pack_items, unpack_document, unpack_items

    d = Document("s/f#1", "s", "naïve \x00 text\r\n" * 50, {"file": "f", "position": 1, "url": "u"})
    assert unpack_document(pack_document(d)) == d
    assert len(pack_document(d)) < len(d.text)  # compressed
    items = [(keeper_key(d.id, 5), d), (None, d._replace(id="s/f#2"))]
    assert unpack_items(pack_items(items)) == items
