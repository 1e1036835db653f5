"""Columnar batches: copies per shard and shuffle-then-pack from spill files, without Beam."""

from __future__ import annotations

import io

import numpy as np
import pytest

from dataprep.mixing import SourceUnits, base_hash, make_plan, shard_of, shuffle_key, validation_mask
from dataprep.shards.batches import shard_copies, shuffle_and_pack
from dataprep.shards.spill import SpillWriter, read_segments
from tests.dataprep.shards.helpers import piece_batch, piece_tokens

EOS = 2


def batch(path, source: str, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = [f"{source}/f#{i}" for i in range(n)]
    bases = [base_hash(5, i) for i in ids]
    lists = [rng.integers(4, 300, rng.integers(1, 40)).tolist() + [EOS] for _ in ids]
    return piece_batch(str(path), source, ids, lists, bases), lists


def open_local(path):
    return open(path, "rb")


def test_spill_writer_offsets_and_read_segments_coalesce(tmp_path) -> None:
    path = str(tmp_path / "s.tokens")
    w = SpillWriter(lambda p: open(p, "wb"), path, np.dtype(np.uint16))
    arrays = [np.arange(i * 10, i * 10 + 3 + i, dtype=np.uint16) for i in range(50)]
    offsets = [w.append(a) for a in arrays]
    w.close()
    assert offsets == np.cumsum([0] + [len(a) for a in arrays[:-1]]).tolist() and w.tokens == sum(map(len, arrays))
    lengths = np.array([len(a) for a in arrays])
    pick = np.array([40, 3, 3, 17, 0, 49])  # out of order, one piece twice
    dest = np.cumsum(lengths[pick]) - lengths[pick]
    expected = np.concatenate([arrays[i] for i in pick])
    for gap, run in ((0, 1), (1 << 15, 1 << 22), (5, 8)):  # one read per piece, few reads, capped runs
        out = np.zeros(len(expected), np.uint16)
        with open(path, "rb") as f:
            read_segments(f, np.array(offsets)[pick], lengths[pick], dest, out, max_gap=gap, max_run=run)
        assert out.tolist() == expected.tolist()


def test_read_segments_fails_on_a_truncated_spill_file() -> None:
    out = np.zeros(4, np.uint16)
    with pytest.raises(EOFError):
        read_segments(io.BytesIO(b"\x01\x00\x02\x00"), np.array([0]), np.array([4]), np.array([0]), out)


def test_shard_copies_emits_every_planned_copy_once_in_its_shard(tmp_path) -> None:
    b, lists = batch(tmp_path / "a.tokens", "web", 300)
    plan = make_plan({"web": 1.0}, {"web": SourceUnits(b.base, b.lengths, validation_mask(b.doc_base, 0.1))}, int(b.lengths.sum() * 2.4), 0.1, 800)
    out = list(shard_copies(b, plan))
    seen = []
    for (split, shard), cb in out:
        assert cb.files == (b.file,)
        for i, doc_id, k, key in zip(range(len(cb.ids)), cb.ids, cb.copy.tolist(), cb.key.tolist()):
            j = int(doc_id.split("#")[1])
            base = int(b.base[j])
            assert plan.split_of(base) == split and key == shuffle_key(base, k)
            assert shard == shard_of(key, plan.shards[split])
            assert piece_tokens(cb, i) == lists[j]
            seen.append((doc_id, k))
    expected = [(b.ids[j], k) for j in range(300) for k in range(plan.sources["web"].copies(int(b.base[j])))]
    assert sorted(seen) == sorted(expected)
    assert {k for _, k in seen} == {0, 1, 2}


def test_shuffle_and_pack_ignores_how_copies_arrived(tmp_path) -> None:
    b, lists = batch(tmp_path / "a.tokens", "web", 200)
    plan = make_plan({"web": 1.0}, {"web": SourceUnits(b.base, b.lengths, np.zeros(200, bool))}, None, 0.0, 10**9)
    (_, whole), = list(shard_copies(b, plan))
    halves = [whole._replace(**{f: getattr(whole, f)[s] for f in ("key", "piece", "pieces", "copy", "start", "end", "lengths", "file_index", "offsets")},
                             ids=whole.ids[s], sources=whole.sources[s])
              for s in (slice(0, 77), slice(77, None))]
    a, pa = shuffle_and_pack([whole], open_local, np.uint16, 64, 0, segment_ids=True)
    c, pc = shuffle_and_pack(halves[::-1], open_local, np.uint16, 64, 0, segment_ids=True)
    assert np.array_equal(a.tokens, c.tokens) and np.array_equal(a.segment_ids, c.segment_ids) and pa.ids == pc.ids
    assert list(pa.key) == sorted(pa.key)
    # The stream is the pieces' tokens in key order, read back from the spill file.
    expected = [t for i in pa.ids for t in lists[int(i.split("#")[1])]]
    assert a.tokens[: len(expected)].tolist() == expected and pa.files == () and pa.offsets is None


def test_shuffle_and_pack_reads_several_spill_files(tmp_path) -> None:
    b1, l1 = batch(tmp_path / "1.tokens", "web", 50, seed=1)
    b2, l2 = batch(tmp_path / "2.tokens", "news", 50, seed=2)
    b2 = b2._replace(ids=[f"news/g#{i}" for i in range(50)])
    units = {s.source: SourceUnits(s.base, s.lengths, np.zeros(50, bool)) for s in (b1, b2)}
    plan = make_plan({"web": 0.5, "news": 0.5}, units, int((b1.lengths.sum() + b2.lengths.sum()) * 1.5), 0.0, 10**9)
    copies = [cb for b in (b2, b1) for _, cb in shard_copies(b, plan)]
    packed, prov = shuffle_and_pack(copies, open_local, np.uint16, 32, 0, last_sequence="short")
    by_id = {**{f"web/f#{i}": t for i, t in enumerate(l1)}, **{f"news/g#{i}": t for i, t in enumerate(l2)}}
    assert packed.tokens.tolist() == [t for i in prov.ids for t in by_id[i]]
    assert packed.padding == 0 and set(prov.sources) == {"web", "news"}


def test_blobs_round_trip_and_a_truncated_blob_fails(tmp_path) -> None:
    from dataprep.shards.spill import BlobWriter, dump_blob, load_blob

    path = str(tmp_path / "b.pieces")
    w = BlobWriter(lambda p: open(p, "wb"), path)
    objs = [{"a": np.arange(5)}, "x" * 1000, (1, 2)]
    refs = [dump_blob(w, o) for o in objs]
    w.close()
    assert [r.offset for r in refs] == [0, refs[0].length, refs[0].length + refs[1].length]
    back = [load_blob(lambda p: open(p, "rb"), r) for r in reversed(refs)][::-1]
    assert back[0]["a"].tolist() == [0, 1, 2, 3, 4] and back[1:] == objs[1:]
    with pytest.raises(EOFError):
        load_blob(lambda p: open(p, "rb"), refs[-1]._replace(length=refs[-1].length + 10))
