"""Columnar batches: copies per shard and shuffle-then-pack, without Beam."""

from __future__ import annotations

import numpy as np

from dataprep.mixing import SourceUnits, base_hash, make_plan, shard_of, shuffle_key, validation_mask
from dataprep.shards.batches import concat_copies, shard_copies, shuffle_and_pack, token_batch, with_eos

EOS = 2


def batch(source: str, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = [f"{source}/f#{i}" for i in range(n)]
    bases = [base_hash(5, i) for i in ids]
    lists = [rng.integers(4, 300, rng.integers(1, 40)).tolist() for _ in ids]
    return token_batch(source, ids, [0] * n, [1] * n, [0] * n, [9] * n, bases, bases, [with_eos(t, EOS) for t in lists]), lists


def test_token_batch_appends_eos_and_keeps_order() -> None:
    b, lists = batch("web", 30)
    for i, off in enumerate(b.offsets.tolist()):
        assert b.tokens[off : off + b.lengths[i]].tolist() == lists[i] + [EOS]


def test_shard_copies_emits_every_planned_copy_once_in_its_shard() -> None:
    b, lists = batch("web", 300)
    plan = make_plan({"web": 1.0}, {"web": SourceUnits(b.base, b.lengths, validation_mask(b.doc_base, 0.1))}, int(b.lengths.sum() * 2.4), 0.1, 800)
    out = list(shard_copies(b, plan))
    seen = []
    for (split, shard), cb in out:
        for i, doc_id, k, key in zip(range(len(cb.ids)), cb.ids, cb.copy.tolist(), cb.key.tolist()):
            j = int(doc_id.split("#")[1])
            base = int(b.base[j])
            assert plan.split_of(base) == split and key == shuffle_key(base, k)
            assert shard == shard_of(key, plan.shards[split])
            off = int(np.cumsum(cb.lengths)[i] - cb.lengths[i])
            assert cb.tokens[off : off + cb.lengths[i]].tolist() == lists[j] + [EOS]
            seen.append((doc_id, k))
    expected = [(b.ids[j], k) for j in range(300) for k in range(plan.sources["web"].copies(int(b.base[j])))]
    assert sorted(seen) == sorted(expected)
    assert {k for _, k in seen} == {0, 1, 2}


def test_shuffle_and_pack_ignores_how_copies_arrived() -> None:
    b, _ = batch("web", 200)
    plan = make_plan({"web": 1.0}, {"web": SourceUnits(b.base, b.lengths, np.zeros(200, bool))}, None, 0.0, 10**9)
    (_, whole), = list(shard_copies(b, plan))
    halves = [whole._replace(**{f: getattr(whole, f)[s] for f in ("key", "piece", "pieces", "copy", "start", "end", "lengths")},
                             ids=whole.ids[s], sources=whole.sources[s],
                             tokens=whole.tokens[int(whole.lengths[: s.start or 0].sum()) : int(whole.lengths[: s.stop].sum()) if s.stop else None])
              for s in (slice(0, 77), slice(77, None))]
    assert concat_copies(halves).tokens.tolist() == whole.tokens.tolist()
    a, pa = shuffle_and_pack([whole], 64, 0, segment_ids=True)
    c, pc = shuffle_and_pack(halves[::-1], 64, 0, segment_ids=True)
    assert np.array_equal(a.tokens, c.tokens) and np.array_equal(a.segment_ids, c.segment_ids) and pa.ids == pc.ids
    assert list(pa.key) == sorted(pa.key)
