"""Near-duplicate accuracy on a labelled set built from real text, against datasketch.

    python benchmarks/dedup_accuracy.py [--corpora ../shared/corpora] [--seed 0] [--sweep]

The set: base documents from ../shared/corpora (Wikipedia lead sections, news articles, Austen
chapters, CPython modules, Milton's poems including the two byte-identical pairs), and for a
third of them one to three edited copies: paragraphs (or sentences) inserted from another
document, removed or swapped, a header and footer added, typos; for code a re-indent, a
renamed identifier, a removed block, a licence header. Ground truth is exact all-pairs
similarity within each source (Jaccard of word 5-gram sets for text via a sparse product,
Levenshtein normalised similarity for code) at the threshold; true clusters are the connected
components of the pairs at or above it, and every method is scored on pairs of documents put
in the same cluster (pair precision, recall, F1).

Methods, same shingles, num_perm and threshold: ours with verification (the default), ours
without verification, and datasketch ``MinHashLSH`` (its own ``_optimal_param`` bands; every
query result an edge, as users of ``MinHashLSH`` do). ``--sweep`` also scores the
false-negative weights and byte n-gram sizes that chose the defaults.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from dataprep.dedup.components import UnionFind  # noqa: E402
from dataprep.dedup.config import DedupConfig, SourceDedup, stage_settings  # noqa: E402
from dataprep.dedup.local import drop_near_duplicates  # noqa: E402
from dataprep.dedup.minhash import shingle_set, shingles  # noqa: E402
from dataprep.dedup.verify import levenshtein_similarity  # noqa: E402
from dataprep.records import Document  # noqa: E402

SENT = re.compile(r"(?<=[.!?])\s+")


class Spec:
    """A minimal SourceSpec (name, kind, dedup) for `stage_settings`."""

    def __init__(self, name: str, kind: str, dedup: SourceDedup = SourceDedup()) -> None:
        self.name, self.kind, self.dedup = name, kind, dedup


# ---- the labelled set -----------------------------------------------------------------------


def base_documents(corpora: Path, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """``source -> [(id, text)]`` of unedited real documents."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with gzip.open(corpora / "wiki" / "summaries-en-us.jsonl.gz", "rt", encoding="utf-8") as f:
        wiki = [json.loads(line) for line in f]
    wiki = [w for w in wiki if len(w["text"]) > 600]
    for w in rng.sample(wiki, 400):
        out["wiki"].append((f"wiki/{w['title']}", w["text"]))
    news = (corpora / "news" / "lee_background.txt").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(news):
        if len(line) > 400:
            out["news"].append((f"news/{i}", line))
    for book in sorted((corpora / "books" / "austen").glob("*.txt")):
        text = book.read_text(encoding="utf-8")
        paras = [p for p in text.split("\n\n") if p.strip()]
        for j in range(0, len(paras), 40):
            chunk = "\n\n".join(paras[j : j + 40])
            if len(chunk) > 2000:
                out["books"].append((f"books/{book.stem}/{j}", chunk))
    out["books"] = rng.sample(out["books"], min(250, len(out["books"])))
    for p in sorted((corpora / "books" / "milton").glob("*.txt")):
        out["books"].append((f"books/milton/{p.name}", p.read_text(encoding="utf-8", errors="replace")))
    files = sorted((corpora / "code" / "cpython-3.11-Lib").rglob("*.py"))
    files = [f for f in files if 1500 < f.stat().st_size < 20000]
    for f in rng.sample(files, 250):
        out["code"].append((f"code/{f.relative_to(corpora / 'code')}", f.read_text(encoding="utf-8", errors="replace")))
    return out


def _units(text: str) -> tuple[list[str], str]:
    paras = text.split("\n\n")
    if len(paras) >= 4:
        return paras, "\n\n"
    return SENT.split(text), " "


def _typos(text: str, rng: random.Random, rate: float) -> str:
    chars = list(text)
    for _ in range(int(len(chars) * rate)):
        i = rng.randrange(len(chars))
        if chars[i].isalpha():
            chars[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(chars)


def edit_text(text: str, other: str, rng: random.Random) -> str:
    """One realistic edit of prose."""
    units, sep = _units(text)
    kind = rng.choice(["insert", "remove", "swap", "boilerplate", "typos", "insert+typos"])
    if kind.startswith("insert"):
        extra, _ = _units(other)
        units.insert(rng.randrange(len(units) + 1), rng.choice(extra))
    elif kind == "remove" and len(units) > 3:
        del units[rng.randrange(len(units))]
    elif kind == "swap" and len(units) > 2:
        i = rng.randrange(len(units) - 1)
        units[i], units[i + 1] = units[i + 1], units[i]
    elif kind == "boilerplate":
        units = ["Home | About | Contact | Subscribe to our newsletter"] + units + ["Copyright 2024. All rights reserved. Privacy policy."]
    out = sep.join(units)
    if "typos" in kind:
        out = _typos(out, rng, 0.01)
    return out


def edit_code(text: str, rng: random.Random) -> str:
    """One realistic edit of source code."""
    kind = rng.choice(["reindent", "rename", "remove_block", "license", "rename+license"])
    out = text
    if kind == "reindent":
        out = re.sub(r"(?m)^((?:    )+)", lambda m: "  " * (len(m.group(1)) // 4), out)
    if "rename" in kind:
        names = [n for n in re.findall(r"\bdef (\w+)|\b(\w{4,}) =", out) for n in n if n]
        if names:
            name = rng.choice(names)
            out = re.sub(rf"\b{re.escape(name)}\b", name + "_renamed", out)
    if kind == "remove_block":
        blocks = out.split("\n\n")
        if len(blocks) > 4:
            del blocks[rng.randrange(1, len(blocks))]
        out = "\n\n".join(blocks)
    if "license" in kind:
        out = "# Copyright (c) 2024 Example Corp.\n# SPDX-License-Identifier: MIT\n\n" + out
    return out


def labelled_set(corpora: Path, seed: int) -> list[Document]:
    """Base documents plus edited copies, shuffled deterministically."""
    rng = random.Random(seed)
    docs = []
    for source, items in sorted(base_documents(corpora, rng).items()):
        for doc_id, text in items:
            docs.append(Document(doc_id, source, text, {}))
            if rng.random() < 1 / 3:
                for v in range(rng.randint(1, 3)):
                    other = rng.choice(items)[1]
                    edited = edit_code(text, rng) if source == "code" else edit_text(text, other, rng)
                    docs.append(Document(f"{doc_id}~{v}", source, edited, {}))
    rng.shuffle(docs)
    return docs


# ---- ground truth ---------------------------------------------------------------------------


def true_pairs(docs: list[Document], settings, source: str) -> set[tuple[str, str]]:
    """Pairs at or above the threshold by the exact metric (all pairs of one source)."""
    s = settings.for_source(source)
    group = [d for d in docs if d.source == source]
    edges = []
    if s.metric == "levenshtein":
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if levenshtein_similarity(a.text, b.text, s.threshold) >= s.threshold:
                    edges.append((a.id, b.id))
    else:
        from scipy.sparse import csr_matrix

        sets = [shingle_set(d.text, s.shingle, s.ngram) for d in group]
        allh, inv = np.unique(np.concatenate(sets), return_inverse=True)
        indptr = np.cumsum([0] + [x.size for x in sets])
        m = csr_matrix((np.ones(inv.size, dtype=np.int32), inv, indptr), shape=(len(group), allh.size))
        inter = (m @ m.T).tocoo()
        sizes = np.array([x.size for x in sets])
        for i, j, n in zip(inter.row, inter.col, inter.data):
            if i < j and n / (sizes[i] + sizes[j] - n) >= s.threshold:
                edges.append((group[i].id, group[j].id))
    return cluster_pairs(edges)


def cluster_pairs(edges) -> set[tuple[str, str]]:
    """All pairs of documents in the same connected component of ``edges``."""
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    comps = defaultdict(list)
    for node, root in uf.labels().items():
        comps[root].append(node)
    out = set()
    for members in comps.values():
        members.sort()
        out.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    return out


# ---- methods --------------------------------------------------------------------------------


def ours(docs: list[Document], settings) -> set[tuple[str, str]]:
    out = drop_near_duplicates(docs, settings)
    groups = defaultdict(list)
    for r in out.clusters:
        groups[r["cluster_id"]].append(r["id"])
    return {(a, b) for m in groups.values() for i, a in enumerate(sorted(m)) for b in sorted(m)[i + 1 :]}


def datasketch_lsh(docs: list[Document], settings) -> set[tuple[str, str]]:
    from datasketch import MinHash, MinHashLSH

    edges = []
    for source in sorted({d.source for d in docs}):
        s = settings.for_source(source)
        index = MinHashLSH(threshold=s.threshold, num_perm=s.num_perm)
        sigs = {}
        for d in docs:
            if d.source != source:
                continue
            m = MinHash(num_perm=s.num_perm, seed=s.minhash_seed)
            items = shingles(d.text, s.shingle, s.ngram)
            m.update_batch([b"\x00".join(x) if isinstance(x, tuple) else x for x in items])
            if items:
                sigs[d.id] = m
                index.insert(d.id, m)
        for doc_id, m in sigs.items():
            edges.extend((doc_id, other) for other in index.query(m) if other != doc_id)
    return cluster_pairs(edges)


def score(pred: set, truth: set) -> tuple[float, float, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=str(HERE.parent.parent / "shared" / "corpora"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--sweep", action="store_true", help="also score false-negative weights and byte n-gram sizes")
    args = ap.parse_args()
    t0 = time.perf_counter()
    docs = labelled_set(Path(args.corpora), args.seed)
    sources = [Spec(s, "code" if s == "code" else "books") for s in sorted({d.source for d in docs})]
    settings = stage_settings(DedupConfig(threshold=args.threshold), sources)
    truth = set()
    for spec in sources:
        truth |= true_pairs(docs, settings, spec.name)
    edited = sum("~" in d.id for d in docs)
    print(f"labelled set: {len(docs):,} documents ({edited:,} edited copies), {len(truth):,} true duplicate pairs "
          f"at threshold {args.threshold} ({time.perf_counter() - t0:.0f} s to build and label)")
    for spec in sources:
        s = settings.for_source(spec.name)
        print(f"  {spec.name}: {sum(d.source == spec.name for d in docs):,} docs, metric {s.metric}, "
              f"{s.shingle} {s.ngram}-grams, {s.bands} bands x {s.rows} rows")

    def report(name: str, pred: set, seconds: float) -> None:
        p, r, f = score(pred, truth)
        print(f"{name:<38} precision {p:.4f}  recall {r:.4f}  F1 {f:.4f}  ({len(pred):,} pairs, {seconds:.1f} s)")

    print()
    for name, fn, st in [
        ("ours, verified (default)", ours, settings),
        ("ours, no verification", ours, stage_settings(DedupConfig(threshold=args.threshold, verify=False), sources)),
        ("datasketch MinHashLSH", datasketch_lsh, settings),
    ]:
        t = time.perf_counter()
        pred = fn(docs, st)
        report(name, pred, time.perf_counter() - t)
    if args.sweep:
        print("\nsweep (ours, verified):")
        for w in (0.5, 0.7, 0.8, 0.9):
            st = stage_settings(DedupConfig(threshold=args.threshold, false_positive_weight=1 - w, false_negative_weight=w), sources)
            t = time.perf_counter()
            report(f"  false_negative_weight {w} ({st.default.bands}x{st.default.rows})", ours(docs, st), time.perf_counter() - t)
        code_docs = [d for d in docs if d.source == "code"]
        code_truth = {p for p in truth if p[0].startswith("code/")}
        for mode, n in [("word", 5), ("char", 3), ("char", 5), ("char", 8)]:
            st = stage_settings(DedupConfig(threshold=args.threshold, shingle=mode, ngram=n), [Spec("code", "code")])
            t = time.perf_counter()
            pred = ours(code_docs, st)
            p, r, f = score(pred, code_truth)
            print(f"  code with {mode} {n}-grams: precision {p:.4f}  recall {r:.4f}  F1 {f:.4f}  ({time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
