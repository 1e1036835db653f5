"""The shards stage: each composite transform alone (TestPipeline), then whole runs on a small
store with a tiny vocabulary: manifest accounting, verify, the CLI, and reruns."""

from __future__ import annotations

import json
import os
import time
import shutil

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to
from click.testing import CliRunner

from dataprep.cli import main
from dataprep.errors import StageError
from dataprep.mixing import SourceUnits, base_hash, make_plan, shard_of, shuffle_key, validation_mask
from dataprep.records import Document
from dataprep.recipe import Recipe, SourceSpec
from dataprep.shards.config import ShardsConfig
from dataprep.shards.formats import read_parquet_shard
from dataprep.shards.packing import text_pieces
from dataprep.shards.verify import verify_shards
from dataprep.shards.batches import CopyBatch, PieceBatch, PieceRef
from pipelines.shards import (
    MixSources,
    PackSequences,
    ReadStoreDocuments,
    TokenizeDocuments,
    WriteShards,
    build_manifest,
    load_manifest,
    load_vocab,
    read_part,
    write_shards,
)
from tests.dataprep.shards.helpers import (
    load_local,
    make_docs,
    piece_batch,
    piece_ref,
    piece_tokens,
    train_tiny_vocab,
    write_store,
    write_text_recipe,
)
from tests.pipelines.beam_helpers import in_process_pipeline

WEIGHTS = {"web": 0.6, "news": 0.1, "books": 0.3}
CONFIG = ShardsConfig(
    total_tokens=40_000, sequence_length=128, shard_tokens=8_000, segment_ids=True, validation_fraction=0.1, max_piece_chars=2000
)


def corpus() -> dict[str, list[Document]]:
    return {"web": make_docs("web", 150), "news": make_docs("news", 15), "books": make_docs("books", 20, words=(50, 200))}


def recipe(config: ShardsConfig = CONFIG, seed: int = 7, weights: dict[str, float] = WEIGHTS) -> Recipe:
    return Recipe("test", seed, tuple(SourceSpec(n, "text", ("unused",), w) for n, w in weights.items()), shards=config)


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory) -> str:
    texts = [d.text for docs in corpus().values() for d in docs]
    return train_tiny_vocab(str(tmp_path_factory.mktemp("vocab") / "vocab"), texts)


def make_run_dir(path, vocab_dir: str) -> str:
    out = str(path)
    write_store(out, corpus())
    shutil.copytree(vocab_dir, os.path.join(out, "vocab"))
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory, vocab_dir) -> tuple[str, dict]:
    out = make_run_dir(tmp_path_factory.mktemp("run"), vocab_dir)
    return out, write_shards(recipe(), out)


# --- one TestPipeline per composite transform --------------------------------------------------


def test_read_store_documents(tmp_path) -> None:
    docs = corpus()
    write_store(str(tmp_path), docs)
    parts = sorted(str(p) for p in tmp_path.glob("documents/*/part-*.parquet"))
    expected = [(d.id, d.source, d.text) for ds in docs.values() for d in ds]
    with in_process_pipeline() as p:
        batches = p | beam.Create(parts) | ReadStoreDocuments()
        got = batches | beam.FlatMap(lambda docs: [(d.id, d.source, d.text) for d in docs])
        assert_that(got, equal_to(expected))


def pieces_of(ref) -> list[tuple]:
    """(id, piece, start, end, tokens, base) of every piece of a tokenized batch, the batch and
    its tokens read back from the spill files (after a fusion break: a file is complete once
    its bundle has finished)."""
    batch: PieceBatch = load_local(ref.blob)
    assert np.array_equal(batch.base, ref.base) and np.array_equal(batch.lengths, ref.lengths)
    out = []
    for i in range(len(batch.ids)):
        toks = piece_tokens(batch, i)
        out.append((batch.ids[i], int(batch.piece[i]), int(batch.start[i]), int(batch.end[i]), toks, int(batch.base[i])))
    return out


def test_tokenize_documents_appends_eos_and_counts_unencodable(vocab_dir, tmp_path) -> None:
    from vocab.model import Vocab

    vocab = Vocab.load(vocab_dir)
    docs = make_docs("web", 5) + [Document("web/x#9", "web", "bad \U0010ffff text", {})]
    expected = [(d.id, 0, 0, len(d.text), vocab.encode([d.text])[0] + [vocab.eos_id], base_hash(3, d.id)) for d in docs[:5]]
    with in_process_pipeline() as p:
        out = p | beam.Create([docs]) | TokenizeDocuments(vocab_dir, seed=3, spill_dir=str(tmp_path / "spill"))
        assert_that(out["tokenized"] | beam.Reshuffle() | beam.FlatMap(pieces_of), equal_to(expected), label="tokens")
        assert_that(out["counts"], equal_to([(("web", "documents"), 5), (("web", "dropped_unencodable"), 1)]), label="counts")


def test_tokenize_cuts_long_documents_into_pieces(vocab_dir, tmp_path) -> None:
    from vocab.model import Vocab

    vocab = Vocab.load(vocab_dir)
    text = "\n".join(d.text for d in make_docs("books", 40))
    doc = Document("books/long#0", "books", text, {})
    ranges = text_pieces(text, 1000)
    assert len(ranges) > 5
    expected = [(i, a, b, True) for i, (a, b) in enumerate(ranges)]
    with in_process_pipeline() as p:
        out = p | beam.Create([[doc]]) | TokenizeDocuments(vocab_dir, seed=3, spill_dir=str(tmp_path), max_piece_chars=1000)
        got = out["tokenized"] | beam.Reshuffle() | beam.FlatMap(pieces_of) | beam.Map(
            lambda x: (x[1], x[2], x[3], vocab.decode(x[4][:-1]) == text[x[2] : x[3]] and x[4][-1] == vocab.eos_id)
        )
        assert_that(got, equal_to(expected))


def test_tokenize_long_piece_gives_the_vocab_api_ids(vocab_dir, tmp_path) -> None:
    """Shard ids are `Vocab.encode`'s (segmented for long texts), so they equal the exported
    Hugging Face tokenizer's, not merely decode to the same text."""
    from vocab.model import SEGMENT_MIN, Vocab

    vocab = Vocab.load(vocab_dir)
    text = "\n".join(d.text for d in make_docs("books", 60))
    assert len(text) > 4 * SEGMENT_MIN
    doc = Document("books/long#0", "books", text, {})
    expected = vocab.encode([text])[0] + [vocab.eos_id]
    # The stage encodes through encode_stream: the same segments and ids as encode, long or not.
    mixed = [text, "", "short text", text[: SEGMENT_MIN + 1], " " * (SEGMENT_MIN * 2)]
    tokens, lengths = vocab.encode_stream(mixed)
    assert tokens.tolist() == [i for ids in vocab.encode(mixed) for i in ids + [vocab.eos_id]]
    assert lengths.tolist() == [len(ids) + 1 for ids in vocab.encode(mixed)]
    assert [a.tolist() for a in vocab.encode_arrays(mixed, num_threads=2)] == vocab.encode(mixed)
    with in_process_pipeline() as p:
        out = p | beam.Create([[doc]]) | TokenizeDocuments(vocab_dir, seed=3, spill_dir=str(tmp_path))
        assert_that(out["tokenized"] | beam.Reshuffle() | beam.FlatMap(pieces_of) | beam.Map(lambda x: x[4]), equal_to([expected]))


def _batches(folder, n_web: int = 60, n_news: int = 6) -> list[tuple[PieceBatch, PieceRef]]:
    rng = np.random.default_rng(0)
    out = []
    for source, n in (("web", n_web), ("news", n_news)):
        ids = [f"{source}/f#{i}" for i in range(n)]
        bases = [base_hash(1, i) for i in ids]
        lists = [rng.integers(4, 300, rng.integers(5, 60)).tolist() + [2] for _ in ids]
        batch = piece_batch(str(folder / f"{source}.tokens"), source, ids, lists, bases)
        out.append((batch, piece_ref(batch, str(folder / f"{source}.pieces"))))
    return out


def test_mix_sources_emits_the_planned_copies(tmp_path) -> None:
    pairs = _batches(tmp_path)
    batches = [b for b, _ in pairs]
    cfg = ShardsConfig(total_tokens=3000, sequence_length=16, shard_tokens=500, validation_fraction=0.2)
    weights = {"web": 0.8, "news": 0.2}
    arrays = {b.source: SourceUnits(b.base, b.lengths, validation_mask(b.doc_base, 0.2)) for b in batches}
    plan = make_plan(weights, arrays, 3000, 0.2, 500)
    expected = []
    for b in batches:
        for i, doc_id in enumerate(b.ids):
            base = int(b.base[i])
            for k in range(plan.sources[b.source].copies(base)):
                expected.append((plan.split_of(base), shard_of(shuffle_key(base, k), plan.shards[plan.split_of(base)]), doc_id, k))
    assert any(k >= 1 for *_, k in expected)  # news repeats
    with in_process_pipeline() as p:
        out = p | beam.Create([r for _, r in pairs]) | MixSources(weights, cfg, str(tmp_path / "spill"))
        copies = out["copies"] | beam.Reshuffle() | beam.Map(lambda kv: (kv[0], load_local(kv[1])))
        got = copies | beam.FlatMap(lambda kv: [(kv[0][0], kv[0][1], i, int(c)) for i, c in zip(kv[1].ids, kv[1].copy)])
        assert_that(got, equal_to(expected), label="copies")
        assert_that(out["plan"], equal_to([plan]), label="plan")


def _copy_batch(keys, ids, token_lists, path=None) -> CopyBatch:
    """Copies of one-piece documents; with ``path``, their tokens are written there as a spill file."""
    n = len(ids)
    batch = piece_batch(path, "web", ids, token_lists) if path else None
    lengths = np.array([len(t) for t in token_lists], np.int64)
    z32, z64 = np.zeros(n, np.int32), np.zeros(n, np.int64)
    return CopyBatch(
        np.array(keys, np.uint64), list(ids), ["web"] * n, z32, z32 + 1, z32, z64, lengths, lengths,
        (batch.file,) if batch else (), z32 if batch else None, batch.offsets if batch else None,
    )


def test_pack_sequences_sorts_by_key_and_writes_empty_planned_shards(tmp_path) -> None:
    cfg = ShardsConfig(total_tokens=100, sequence_length=4, shard_tokens=4, validation_fraction=0.0)
    units = SourceUnits(np.array([1, 2, 3], np.uint64), np.array([3, 2, 2], np.int64), np.zeros(3, bool))
    plan = make_plan({"web": 1.0}, {"web": units}, None, 0.0, 4)
    assert plan.shards["train"] == 2
    from dataprep.shards.spill import BlobWriter, dump_blob

    writer = BlobWriter(lambda p: open(p, "wb"), str(tmp_path / "x.copies"))
    copies = [
        (("train", 0), dump_blob(writer, _copy_batch([9], ["web/b"], [[7, 8, 2]], str(tmp_path / "b.tokens")))),
        (("train", 0), dump_blob(writer, _copy_batch([3], ["web/a"], [[5, 2]], str(tmp_path / "a.tokens")))),
    ]
    writer.close()
    with in_process_pipeline() as p:
        inputs = {
            "copies": p | "Copies" >> beam.Create(copies),
            "plan": p | "Plan" >> beam.Create([plan]),
            "shard_keys": p | "ShardKeys" >> beam.Create([(k, None) for k in plan.shard_keys()]),
        }
        shards = inputs | PackSequences(cfg, pad_id=0, dtype=np.uint16)
        got = shards | beam.Map(lambda s: (s.split, s.index, s.count, s.packed.tokens.tolist(), s.copies.ids))
        assert_that(got, equal_to([("train", 0, 2, [5, 2, 7, 8, 2, 0, 0, 0], ["web/a", "web/b"]), ("train", 1, 2, [], [])]))


def test_write_shards_writes_files_then_manifest(tmp_path) -> None:
    from dataprep.shards.packing import pack
    from pipelines.shards import PackedShard

    cfg = ShardsConfig(total_tokens=100, sequence_length=4, shard_tokens=4, validation_fraction=0.0)
    units = SourceUnits(np.array([1, 2], np.uint64), np.array([3, 2], np.int64), np.zeros(2, bool))
    plan = make_plan({"web": 1.0}, {"web": units}, None, 0.0, 8)
    docs = [np.array([7, 8, 2], np.int32), np.array([5, 2], np.int32)]
    provenance = _copy_batch([1, 2], ["web/a", "web/b"], [[7, 8, 2], [5, 2]])
    shard = PackedShard("train", 0, 1, pack(docs, 4, 0, segment_ids=True), provenance)
    out = str(tmp_path / "s")
    with in_process_pipeline() as p:
        inputs = {
            "shards": p | "Shards" >> beam.Create([shard]),
            "plan": p | "Plan" >> beam.Create([plan]),
            # Per bundle, as TokenizeDocuments emits them: the manifest sums them.
            "counts": p | "Counts" >> beam.Create([(("web", "documents"), 1), (("web", "documents"), 1)]),
        }
        records = inputs | WriteShards(out, cfg, np.dtype(np.uint16), {"recipe": "t"})
        assert_that(records | beam.Map(lambda r: (r["name"], r["sequences"], r["tokens"], r["source_tokens"])),
                    equal_to([("shard-00000-of-00001", 2, 8, {"web": 5})]))
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    assert manifest["format"] == "dataprep-shards v1" and manifest["recipe"] == "t"
    assert manifest["sources"]["web"]["realised_share"] == 1.0
    assert manifest["sources"]["web"]["documents"] == 2 and manifest["sources"]["web"]["pieces"] == 2
    stream = read_parquet_shard(os.path.join(out, manifest["shards"][0]["files"]["parquet"]["path"]))
    assert stream.tokens.tolist() == [7, 8, 2, 5, 2, 0, 0, 0]


def test_build_manifest_sums_the_per_bundle_counts() -> None:
    """Tokenizing emits its counters once per bundle, unsummed: a source's documents and drops
    are their sums over bundles, and its account balances against the store's rows."""
    units = SourceUnits(np.array([1, 2], np.uint64), np.array([3, 2], np.int64), np.zeros(2, bool))
    plan = make_plan({"web": 1.0}, {"web": units}, None, 0.0, 8)
    counts = [
        (("web", "documents"), 1),
        (("web", "dropped_unencodable"), 1),
        (("web", "documents"), 1),
        (("web", "dropped_unencodable"), 2),
    ]
    m = build_manifest([], plan, {"store_documents": {"web": 5}}, counts)
    assert m["sources"]["web"]["documents"] == 2
    assert m["sources"]["web"]["dropped"] == {"dropped_unencodable": 3}
    assert m["balanced"] and m["sources"]["web"]["balanced"]
    assert not build_manifest([], plan, {"store_documents": {"web": 6}}, counts)["balanced"]


# --- whole stage --------------------------------------------------------------------------------


def test_manifest_accounts_for_every_source(written) -> None:
    out, m = written
    assert m["budget"] == {"mode": "total_tokens", "total_tokens": 40_000}
    assert set(m["sources"]) == set(WEIGHTS)
    written_tokens = 0
    for name, s in m["sources"].items():
        assert s["documents"] == len(corpus()[name]) and s["pieces"] >= s["documents"]
        assert abs(s["realised_share"] - WEIGHTS[name]) < 0.02, name
        tokens = s["realised_tokens"]["train"] + s["realised_tokens"]["validation"]
        assert s["epochs"] == pytest.approx(tokens / s["available_tokens"])
        written_tokens += tokens
    assert m["sources"]["news"]["full_epochs"] >= 1  # news is small: it repeats
    index = pq.read_table(os.path.join(out, "shards", m["shards"][0]["files"]["index"]["path"]))
    assert max(index.column("pieces").to_pylist()) > 1  # long books were cut into pieces
    splits = m["splits"]
    assert splits["train"]["tokens"] + splits["validation"]["tokens"] == written_tokens + splits["train"]["padding_tokens"] + splits["validation"]["padding_tokens"]
    assert abs(written_tokens - 40_000) < 1_000
    assert m["vocab_fingerprint"] and m["store_fingerprint"] == "test-store"
    assert m["balanced"] and m["store_documents"] == {name: len(docs) for name, docs in corpus().items()}
    assert os.listdir(os.path.join(out, "shards")) and not os.path.exists(os.path.join(out, ".shards.partial"))
    # The spill files (the tokenized corpus) are deleted before the swap.
    assert not [f for _, _, fs in os.walk(out) for f in fs if f.endswith((".tokens", ".pieces", ".copies"))]


def test_verify_passes_and_catches_corruption(written, tmp_path) -> None:
    from vocab.model import Vocab

    out, m = written
    vocab = Vocab.load(os.path.join(out, "vocab"))
    checks = verify_shards(out, vocab, sample=64)
    assert all(c.ok for c in checks), checks
    copy = str(tmp_path / "copy")
    shutil.copytree(out, copy)
    # A flipped byte in a shard fails its checksum.
    path = os.path.join(copy, "shards", m["shards"][0]["files"]["megatron_bin"]["path"])
    data = bytearray(open(path, "rb").read())
    data[10] ^= 1
    open(path, "wb").write(bytes(data))
    failed = {c.name for c in verify_shards(copy, vocab) if not c.ok}
    assert failed == {"shard files"}
    # A store whose text changed no longer decodes equal.
    shutil.rmtree(copy)
    shutil.copytree(out, copy)
    docs = corpus()
    docs = {s: [d._replace(text=d.text + "!") for d in ds] for s, ds in docs.items()}
    write_store(copy, docs)
    failed = {c.name for c in verify_shards(copy, vocab) if not c.ok}
    assert failed == {"documents decode exactly"}


def test_verify_catches_wrong_segment_ids_even_with_matching_checksums(written, tmp_path) -> None:
    import hashlib

    from dataprep.manifest import write_json_atomic
    from dataprep.shards.formats import parquet_shard_bytes
    from dataprep.shards.packing import Packed
    from vocab.model import Vocab

    out, m = written
    copy = str(tmp_path / "copy")
    shutil.copytree(out, copy)
    shard = m["shards"][0]
    path = os.path.join(copy, "shards", shard["files"]["parquet"]["path"])
    stream = read_parquet_shard(path)
    seg = stream.segment_ids.copy()
    seg[5] += 1
    blob = parquet_shard_bytes(Packed(stream.tokens, stream.lengths, seg, None, None, 0), segment_ids=True)
    open(path, "wb").write(blob)
    manifest = json.load(open(os.path.join(copy, "shards", "manifest.json")))
    manifest["shards"][0]["files"]["parquet"].update(bytes=len(blob), sha256=hashlib.sha256(blob).hexdigest())
    write_json_atomic(os.path.join(copy, "shards", "manifest.json"), manifest)
    checks = {c.name: c for c in verify_shards(copy, Vocab.load(os.path.join(out, "vocab")))}
    assert not checks["shard files"].ok and "segment ids" in checks["shard files"].detail


def test_hugging_face_reads_the_splits(written, tmp_path) -> None:
    datasets = pytest.importorskip("datasets")
    out, m = written
    ds = datasets.load_dataset("parquet", data_dir=os.path.join(out, "shards", "parquet"), cache_dir=str(tmp_path))
    assert set(ds) == {"train", "validation"}
    assert len(ds["train"]) == m["splits"]["train"]["sequences"]
    assert all(len(r) == 128 for r in ds["validation"]["input_ids"])


def test_rerun_is_byte_identical_and_a_new_seed_is_not(written, vocab_dir, tmp_path) -> None:
    out, m = written
    again = make_run_dir(tmp_path / "again", vocab_dir)
    m2 = write_shards(recipe(), again)
    assert [s["files"] for s in m2["shards"]] == [s["files"] for s in m["shards"]]
    m3 = write_shards(recipe(seed=8), again)  # replaces the previous output wholesale
    assert [s["files"] for s in m3["shards"]] != [s["files"] for s in m["shards"]]
    listed = {f["path"] for s in m3["shards"] for f in s["files"].values()}
    on_disk = {
        os.path.relpath(os.path.join(d, f), os.path.join(again, "shards"))
        for d, _, fs in os.walk(os.path.join(again, "shards"))
        for f in fs
    }
    assert on_disk == listed | {"manifest.json"}


def test_a_source_without_documents_fails_with_its_name(vocab_dir, tmp_path) -> None:
    out = make_run_dir(tmp_path, vocab_dir)
    with pytest.raises(StageError, match="'poetry'"):
        write_shards(recipe(weights={**WEIGHTS, "poetry": 0.1}), out)
    assert not os.path.exists(os.path.join(out, "shards"))


def test_a_store_with_no_document_fails_clearly(vocab_dir, tmp_path) -> None:
    out = str(tmp_path)
    write_store(out, {"web": [], "news": []})
    shutil.copytree(vocab_dir, os.path.join(out, "vocab"))
    with pytest.raises(StageError, match="'web' has weight 0.5 but no tokens"):
        write_shards(recipe(weights={"web": 0.5, "news": 0.5}), out)
    assert not os.path.exists(os.path.join(out, "shards"))


def test_a_store_whose_every_document_is_unencodable_fails_clearly(vocab_dir, tmp_path) -> None:
    from vocab.model import SPACE_ESCAPE

    out = str(tmp_path)
    docs = [d._replace(text=d.text + SPACE_ESCAPE) for d in corpus()["web"][:5]]
    write_store(out, {"web": docs})
    shutil.copytree(vocab_dir, os.path.join(out, "vocab"))
    with pytest.raises(StageError, match="no document of any source could be tokenized"):
        write_shards(recipe(weights={"web": 1.0}), out)
    assert not os.path.exists(os.path.join(out, "shards"))


def test_a_pipeline_that_does_not_finish_is_not_reported_as_an_empty_mixture(vocab_dir, tmp_path, monkeypatch) -> None:
    """No manifest after a run whose runner returned without finishing the job (a cancelled
    job, a runner that only stages a template) says so, rather than that no document could be
    tokenized."""
    from types import SimpleNamespace

    import pipelines.shards as stage
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.runners.runner import PipelineState

    class NotRun(beam.Pipeline):
        def run(self, test_runner_api="AUTO"):
            return SimpleNamespace(wait_until_finish=lambda: PipelineState.CANCELLED)

    monkeypatch.setattr(stage, "make_pipeline", lambda options: NotRun(runner=FnApiRunner(), options=options))
    out = make_run_dir(tmp_path, vocab_dir)
    with pytest.raises(StageError, match="ended in state CANCELLED"):
        write_shards(recipe(), out)
    assert not os.path.exists(os.path.join(out, "shards"))


def test_one_source_used_exactly_once_needs_no_cut(vocab_dir, tmp_path) -> None:
    """A single source at the largest budget without repeats: rate exactly 1, so no source has
    a fractional epoch to cut (the planning pass that gathers the cut's pieces gets nothing)."""
    out = str(tmp_path)
    write_store(out, {"web": corpus()["web"]})
    shutil.copytree(vocab_dir, os.path.join(out, "vocab"))
    config = ShardsConfig(sequence_length=128, shard_tokens=8_000, validation_fraction=0.0)
    m = write_shards(recipe(config, weights={"web": 1.0}), out)
    web = m["sources"]["web"]
    assert web["full_epochs"] == 1 and web["rate"] == 1.0
    assert web["realised_tokens"]["train"] == web["available_tokens"]


def test_cli_write_inspect_verify(vocab_dir, tmp_path) -> None:
    out = make_run_dir(tmp_path / "run", vocab_dir)
    data = tmp_path / "data.txt"
    data.write_text("unused\n")
    rec = tmp_path / "r.yaml"
    rec.write_text(
        "name: cli\nseed: 7\nsources:\n"
        + "".join(f"  - {{name: {n}, kind: text, paths: [data.txt], weight: {w}}}\n" for n, w in WEIGHTS.items())
        + "shards: {total_tokens: 20000, sequence_length: 64, formats: [parquet], last_sequence: short}\n"
    )
    runner = CliRunner()
    r = runner.invoke(main, ["shards", str(rec), "--out", out])
    assert r.exit_code == 0, r.output
    assert "realised %" in r.output and "news" in r.output
    m = load_manifest(out)
    assert m["config"]["formats"] == ["parquet"] and "megatron_bin" not in m["shards"][0]["files"]
    r = runner.invoke(main, ["shards", "inspect", out, "--samples", "20", "--chars", "2000"])
    assert r.exit_code == 0 and "sequence 1" in r.output and "⟨eos⟩" in r.output, r.output
    r = runner.invoke(main, ["shards", "verify", out])
    assert r.exit_code == 0 and "FAIL" not in r.output, r.output
    r = runner.invoke(main, ["shards", "verify", str(tmp_path / "nothing")])
    assert r.exit_code == 1 and "no SentencePiece model" in r.output
    r = runner.invoke(main, ["shards", "verify", str(tmp_path / "nothing"), "--vocab", os.path.join(out, "vocab")])
    assert r.exit_code == 1 and "FAIL" in r.output and "no manifest" in r.output


@pytest.mark.integration
def test_one_and_two_workers_write_identical_bytes(written, vocab_dir, tmp_path) -> None:
    out, m = written
    two = make_run_dir(tmp_path / "two", vocab_dir)
    m2 = write_shards(recipe(), two, workers=2)
    assert m2 == m
    for s in m["shards"]:
        for f in s["files"].values():
            a = open(os.path.join(out, "shards", f["path"]), "rb").read()
            b = open(os.path.join(two, "shards", f["path"]), "rb").read()
            assert a == b, f["path"]


def test_run_skips_up_to_date_stages_and_redoes_only_what_changed(tmp_path) -> None:
    from dataprep.recipe import load_recipe
    from pipelines.commands.run import run_all

    rec = write_text_recipe(tmp_path, corpus(), WEIGHTS)
    out = str(tmp_path / "out")
    first = run_all(load_recipe(rec), out)
    assert [st for _, st, _ in first["stages"]] == ["ran", "ran", "ran"]
    again = run_all(load_recipe(str(rec)), out)
    assert [st for _, st, _ in again["stages"]] == ["skipped", "skipped", "skipped"]
    assert again["shards"] == first["shards"]
    with open(rec, encoding="utf-8") as f:
        text = f.read()
    with open(rec, "w", encoding="utf-8") as f:
        f.write(text.replace("total_tokens: 30000", "total_tokens: 20000"))
    changed = run_all(load_recipe(str(rec)), out)
    assert [st for _, st, _ in changed["stages"]] == ["skipped", "skipped", "ran"]
    assert changed["shards"]["budget"]["total_tokens"] == 20000
    # A shard file gone missing makes the stage run again.
    os.unlink(os.path.join(out, "shards", changed["shards"]["shards"][0]["files"]["index"]["path"]))
    assert run_all(load_recipe(str(rec)), out)["stages"][2][1] == "ran"


def _stage_on(vocab_dir: str, parts: list[str], spill: str, out: str) -> None:
    """Every composite transform of the stage, as `write_shards` wires them, with the spill
    folder and the output folder on any Beam filesystem."""
    from pipelines.shards import pad_id_of
    from vocab.model import Vocab

    vocab = Vocab.load(vocab_dir)
    cfg = CONFIG
    with in_process_pipeline() as p:
        docs = p | beam.Create(parts) | ReadStoreDocuments()
        tokenized = docs | TokenizeDocuments(vocab_dir, 7, spill, cfg.max_piece_chars)
        mixed = tokenized["tokenized"] | MixSources(WEIGHTS, cfg, spill)
        shards = mixed | PackSequences(cfg, pad_id_of(vocab), np.uint16)
        {"shards": shards, "plan": mixed["plan"], "counts": tokenized["counts"]} | WriteShards(out, cfg, np.uint16, {"recipe": "t"})


def test_spill_and_shards_on_a_non_local_filesystem(vocab_dir, tmp_path) -> None:
    """Spill files and shard files go through Beam's filesystems: on a dict-backed ``memfs://``
    object store the stage's transforms write the same bytes as on a local folder."""
    from tests.pipelines import memfs  # registers the memfs:// scheme with Beam

    write_store(str(tmp_path), corpus())
    parts = sorted(str(p) for p in tmp_path.glob("documents/*/part-*.parquet"))
    _stage_on(vocab_dir, parts, "memfs://bucket/transforms-run/.shards.partial/spill", "memfs://bucket/transforms-run/.shards.partial")
    _stage_on(vocab_dir, parts, str(tmp_path / "local" / "spill"), str(tmp_path / "local"))
    prefix = "memfs://bucket/transforms-run/.shards.partial/"
    remote = {k[len(prefix):]: v for k, v in memfs.FILES.items() if k.startswith(prefix)}
    spilled = {k.rsplit(".", 1)[1] for k in remote if k.startswith("spill/")}
    assert spilled == {"tokens", "pieces", "copies"}
    assert not any(".tmp-" in k for k in remote)
    local = {
        os.path.relpath(os.path.join(d, f), tmp_path / "local"): open(os.path.join(d, f), "rb").read()
        for d, _, fs in os.walk(tmp_path / "local")
        for f in fs
        if not f.endswith((".tokens", ".pieces", ".copies"))
    }
    assert {k: v for k, v in remote.items() if not k.startswith("spill/")} == local
    assert "manifest.json" in local and any(k.startswith("megatron/") for k in local)


def test_a_killed_runs_partial_output_and_spill_are_replaced(written, vocab_dir, tmp_path) -> None:
    """What a run killed mid-stage leaves (a partial folder with spill files and some shards,
    no manifest in DIR/shards) never reaches the output: the next run starts afresh and writes
    the same bytes as an uninterrupted run."""
    out, m = written
    again = make_run_dir(tmp_path / "again", vocab_dir)
    stale = os.path.join(again, ".shards.partial")
    os.makedirs(os.path.join(stale, "spill"))
    os.makedirs(os.path.join(stale, "parquet", "train"))
    open(os.path.join(stale, "spill", "dead.tokens"), "wb").write(b"\x01\x00" * 100)
    open(os.path.join(stale, "parquet", "train", "shard-00000-of-00009.parquet"), "wb").write(b"half")
    m2 = write_shards(recipe(), again)
    assert m2 == m and not os.path.exists(stale)
    on_disk = {
        os.path.relpath(os.path.join(d, f), os.path.join(again, "shards"))
        for d, _, fs in os.walk(os.path.join(again, "shards"))
        for f in fs
    }
    assert on_disk == {f["path"] for s in m["shards"] for f in s["files"].values()} | {"manifest.json"}
    for s in m["shards"]:
        for f in s["files"].values():
            assert open(os.path.join(again, "shards", f["path"]), "rb").read() == open(os.path.join(out, "shards", f["path"]), "rb").read()


def test_tokenize_drops_a_long_document_whose_later_piece_cannot_be_encoded(vocab_dir, tmp_path) -> None:
    """A document is tokenized whole or not at all: a bad character in its third piece drops
    every piece of it, and the documents around it keep their tokens."""
    from vocab.model import Vocab

    vocab = Vocab.load(vocab_dir)
    good = make_docs("books", 4)
    long_text = "\n".join(d.text for d in make_docs("books", 30, seed=1))
    cut = text_pieces(long_text, 500)[2][0] + 5
    bad = Document("books/bad#0", "books", long_text[:cut] + "\U0010ffff" + long_text[cut:], {})
    docs = [good[0], bad, *good[1:]]
    expected = [(d.id, vocab.encode([d.text[a:b]])[0] + [vocab.eos_id]) for d in good for a, b in text_pieces(d.text, 500)]
    with in_process_pipeline() as p:
        out = p | beam.Create([docs]) | TokenizeDocuments(vocab_dir, seed=3, spill_dir=str(tmp_path), max_piece_chars=500)
        got = out["tokenized"] | beam.Reshuffle() | beam.FlatMap(pieces_of) | beam.Map(lambda x: (x[0], x[4]))
        assert_that(got, equal_to(expected), label="tokens")
        assert_that(out["counts"], equal_to([(("books", "documents"), 4), (("books", "dropped_unencodable"), 1)]), label="counts")


def test_write_shards_on_a_non_local_filesystem(written, tmp_path) -> None:
    """The whole stage with its run folder on an object store (dict-backed ``memfs://``): store,
    build manifest and vocabulary read from there, shards written there, the old output
    replaced, no partial or spill object left, and the same bytes as a local run."""
    from tests.pipelines import memfs  # registers the memfs:// scheme with Beam

    out, m = written
    root = "memfs://bucket/remote-run"
    for rel in ("build-manifest.json", "vocab/spm.model", *(
        os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(os.path.join(out, "documents")) for f in fs
    )):
        memfs.FILES[f"{root}/{rel}"] = open(os.path.join(out, rel), "rb").read()
    stale = f"{root}/shards/parquet/train/shard-00007-of-00009.parquet"
    memfs.FILES[stale] = b"stale"
    m2 = write_shards(recipe(), root)
    assert m2 == m
    remote = {k[len(root) + 1 :]: v for k, v in memfs.FILES.items() if k.startswith(root + "/")}
    assert not [k for k in remote if k.startswith(".shards.partial") or ".tmp-" in k] and stale[len(root) + 1 :] not in remote
    listed = {f"shards/{f['path']}" for s in m["shards"] for f in s["files"].values()} | {"shards/manifest.json"}
    assert {k for k in remote if k.startswith("shards/")} == listed
    for rel in listed:
        assert remote[rel] == open(os.path.join(out, rel), "rb").read(), rel


def test_load_vocab_loads_a_model_file_once_until_it_changes(vocab_dir, tmp_path) -> None:
    import shutil

    home = tmp_path / "vocab"
    shutil.copytree(vocab_dir, home)
    first = load_vocab(str(home))
    assert load_vocab(str(home)) is first
    assert load_vocab(str(home / "spm.model")) is first  # the folder or its model file
    model = home / "spm.model"
    data = model.read_bytes()
    (home / "new.model").write_bytes(data)
    os.replace(home / "new.model", model)  # as a retrained vocabulary is written: a new file
    again = load_vocab(str(home))
    assert again is not first and again.fingerprint == first.fingerprint
    st = model.stat()
    time.sleep(0.01)
    model.write_bytes(data)  # rewritten in place, then its mtime put back (as cp -p or rsync -t do)
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert load_vocab(str(home)) is not again  # the ctime tells


@pytest.mark.parametrize("stats", [True, False])
@pytest.mark.parametrize("one_source", [True, False])
def test_read_part_batches_rows_by_the_widest_row_group(tmp_path, stats: bool, one_source: bool) -> None:
    from dataprep.store import documents_to_table

    # 12 row groups of 10 short documents, then one of 10 documents of 20,000 characters.
    docs = [Document(f"{i:04d}", "web" if one_source or i % 3 else "news", f"text {i}" * (1 if i < 120 else 2500), {}) for i in range(130)]
    path = tmp_path / "part.parquet"
    with pq.ParquetWriter(path, documents_to_table(docs[:1]).schema, write_statistics=stats) as writer:
        for a in range(0, 130, 10):
            writer.write_table(documents_to_table(docs[a : a + 10]))
    large = pq.ParquetFile(path).metadata.row_group(12).total_byte_size
    want = [(d.id, d.source, d.text) for d in docs]
    lists = list(read_part(str(path), chunk_bytes=-(-3 * large // 10)))  # 3 of the long rows fit
    assert [len(x) for x in lists] == [3] * 43 + [1]  # across row groups
    assert [(d.id, d.source, d.text) for x in lists for d in x] == want
    lists = list(read_part(str(path), chunk_bytes=100 * large))
    assert [len(x) for x in lists] == [130] and [(d.id, d.source, d.text) for d in lists[0]] == want
    assert list(read_part(str(path), chunk_bytes=1)) and all(len(x) == 1 for x in read_part(str(path), chunk_bytes=1))


def test_single_source_comes_from_statistics_only_when_they_prove_it(tmp_path) -> None:
    from dataprep.store import documents_to_table
    from dataprep.store import single_source as _single_source

    docs = [Document(f"{i:04d}", "web", f"text {i}", {}) for i in range(10)]
    path = tmp_path / "p.parquet"
    pq.write_table(documents_to_table(docs), path, row_group_size=4)
    assert _single_source(pq.ParquetFile(path).metadata) == "web"
    pq.write_table(documents_to_table(docs[:5] + [d._replace(source="wiki") for d in docs[5:]]), path, row_group_size=5)
    assert _single_source(pq.ParquetFile(path).metadata) is None  # one value per group, two in all
    pq.write_table(documents_to_table(docs), path, write_statistics=False)
    assert _single_source(pq.ParquetFile(path).metadata) is None
    # min = max = 'web' over the values, but a row has none: not proven.
    import pyarrow as pa

    table = documents_to_table(docs)
    sources = pa.array(["web"] * 9 + [None], pa.string())
    pq.write_table(table.set_column(table.schema.get_field_index("source"), "source", sources), path)
    assert _single_source(pq.ParquetFile(path).metadata) is None
    assert [d.source for x in read_part(str(path)) for d in x] == ["web"] * 9 + [None]
    pq.write_table(documents_to_table([]), path)  # a part with no row: nothing to prove, nothing read
    assert _single_source(pq.ParquetFile(path).metadata) is None and list(read_part(str(path))) == []
