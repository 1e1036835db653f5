"""The shards stage on Beam: mix sources by token weight, tokenize, shuffle, pack, write shards.

    part files of DIR/documents/<source>/
      | ReadStoreDocuments   # Output: lists of Document (id, source, text), see read_part
      | TokenizeDocuments    # Output: PieceRef (hashes and lengths of up to 8,192 pieces; their
                             #         tokens + EOS and the PieceBatch itself in spill files)
      | MixSources           # Output: ((split, shard), BlobRef to a spilled CopyBatch), MixturePlan
                             #         (a singleton side input, from per-source token counts)
      | PackSequences        # Output: PackedShard (copies sorted by key, cut into sequences)
      | WriteShards          # Output: shard records; DIR/shards/manifest.json written last

Elements are handles to columnar batches of up to 8,192 pieces, not documents and not tokens:
Beam's per-element cost is paid a few hundred times, and the runner never holds token arrays or
per-copy references (see `dataprep.shards.batches` and `dataprep.shards.spill`).

Parallel and deterministic: every document copy goes to a shard picked by its hash, is ordered
within the shard by the same hash, and each shard is packed on its own. Nothing depends on the
order elements arrive in, so 1 or N workers give byte-identical files. The price: each shard's
last sequence may be partial (padded), at most ``sequence_length - 1`` pad tokens per shard,
against one for a single global stream (which would need one worker to pack everything).

The stage writes into ``DIR/.shards.partial/`` and only swaps it into ``DIR/shards/`` once the
manifest is written, so ``DIR/shards/`` is either absent or complete.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections import Counter
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.runners.runner import PipelineState
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from dataprep import __version__
from dataprep.configs import to_plain
from dataprep.errors import DataprepError, FormatError, StageError
from dataprep.fs import relative_to_root
from dataprep.manifest import dumps_json, read_manifest
from dataprep.mixing import (
    N_BUCKETS,
    MixturePlan,
    SourcePlan,
    SourceUnits,
    base_hash,
    bucket_histogram,
    bucket_members,
    crossing_bucket,
    epochs,
    finish_plan,
    finish_source,
    piece_base,
    realised_shares,
    resolve_budget,
    source_targets,
    split_dict,
    split_sums,
    validation_mask,
)
from dataprep.records import Document
from dataprep.shards.batches import (
    CopyBatch,
    PieceBatch,
    PieceRef,
    concat_copies,
    shard_copies,
    shuffle_and_pack,
)
from dataprep.shards.config import ShardsConfig
from dataprep.shards.formats import (
    SHARDS_FORMAT,
    index_bytes,
    megatron_bytes,
    parquet_shard_bytes,
    token_dtype,
)
from dataprep.shards.packing import Packed, text_pieces
from dataprep.shards.spill import BlobRef, BlobWriter, SpillWriter, dump_blob, load_blob
from dataprep.store import BUILD_FORMAT, BUILD_MANIFEST, READ_CHUNK_BYTES, document_batches, part_files
from pipelines.counting import COUNTS, CountingDoFn
from pipelines.fs import BeamFileSystem, create_file, is_local, join, open_file, read_bytes, remove_tree, write_bytes_atomic
from pipelines.runner import make_pipeline, one_local_worker, pipeline_options
from vocab.model import MODEL_FILE, UnencodableTextError, Vocab

log = logging.getLogger(__name__)

SHARDS_DIR = "shards"
PARTIAL_DIR = ".shards.partial"
SPILL_DIR = "spill"  # under PARTIAL_DIR: the tokenized corpus, deleted before the swap
MANIFEST = "manifest.json"
SPLITS = ("train", "validation")


class PackedShard(NamedTuple):
    """A packed shard and its provenance: the piece copies in stream order."""

    split: str
    index: int
    count: int
    packed: Packed
    copies: CopyBatch


def shard_name(index: int, count: int) -> str:
    """``shard_name(0, 4)`` -> ``'shard-00000-of-00004'``."""
    return f"shard-{index:05d}-of-{count:05d}"


def shard_paths(split: str, index: int, count: int, formats: Sequence[str]) -> dict[str, str]:
    """Relative paths of one shard's files, keyed ``parquet``, ``megatron_bin``,
    ``megatron_idx`` and ``index``."""
    name = shard_name(index, count)
    out = {}
    if "parquet" in formats:
        out["parquet"] = f"parquet/{split}/{name}.parquet"
    if "megatron" in formats:
        out["megatron_bin"] = f"megatron/{split}/{name}.bin"
        out["megatron_idx"] = f"megatron/{split}/{name}.idx"
    out["index"] = f"index/{split}/{name}.parquet"
    return out


# ---------------------------------------------------------------------------------------------
# Pure per-element functions


def read_part(path: str, chunk_bytes: int = READ_CHUNK_BYTES) -> Iterator[list[Document]]:
    """Documents of one store part file on any Beam filesystem (id, source, text; meta is not
    needed here), in lists of about ``chunk_bytes`` of rows (`dataprep.store.document_batches`)."""
    yield from document_batches(path if is_local(path) else open_file(path), chunk_bytes)


def pack_shard(
    item: tuple[tuple[str, int], Iterable[BlobRef | None]],
    plan: MixturePlan,
    config: ShardsConfig,
    pad_id: int,
    dtype: np.dtype,
) -> PackedShard:
    """Sort a shard's copies by shuffle key, read their tokens from the spill files and pack
    them (see `shuffle_and_pack`)."""
    (split, index), values = item
    # None marks a planned shard (it may receive no copy); the rest are pickled CopyBatches.
    batches = [load_blob(open_file, ref) for ref in sorted(v for v in values if v is not None)]
    packed, provenance = shuffle_and_pack(
        batches,
        open_file,
        dtype,
        config.sequence_length,
        pad_id,
        segment_ids=config.segment_ids,
        last_sequence=config.last_sequence,
    )
    return PackedShard(split, index, plan.shards[split], packed, provenance)


def write_shard(shard: PackedShard, out_dir: str, config: ShardsConfig, dtype: np.dtype) -> dict[str, Any]:
    """Write one shard's files atomically under ``out_dir``; return its manifest record."""
    paths = shard_paths(shard.split, shard.index, shard.count, config.formats)
    files = {}

    def write(kind: str, data: bytes) -> None:
        write_bytes_atomic(join(out_dir, paths[kind]), data)
        files[kind] = {"path": paths[kind], "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    # Each file written as soon as it is built, so one format's bytes are held at a time.
    if "parquet" in config.formats:
        write("parquet", parquet_shard_bytes(shard.packed, config.segment_ids, config.parquet_encoding))
    if "megatron" in config.formats:
        data, idx = megatron_bytes(shard.packed, dtype)
        write("megatron_bin", data)
        write("megatron_idx", idx)
        del data, idx
    write("index", index_bytes(shard.copies, shard.packed))
    per_source: Counter[str] = Counter()
    for source, n in zip(shard.copies.sources, shard.packed.doc_lengths.tolist()):
        per_source[source] += n
    return {
        "split": shard.split,
        "index": shard.index,
        "name": shard_name(shard.index, shard.count),
        "files": files,
        "sequences": int(len(shard.packed.lengths)),
        "tokens": int(len(shard.packed.tokens)),
        "padding_tokens": shard.packed.padding,
        "pieces": len(shard.copies.ids),
        "source_tokens": dict(sorted(per_source.items())),
    }


def build_manifest(
    records: list[dict[str, Any]],
    plan: MixturePlan,
    header: dict[str, Any],
    counts: Iterable[tuple[tuple[str, str], int]] = (),
) -> dict[str, Any]:
    """The stage manifest from every shard record and the plan: shards, splits, and per-source
    token accounting (available, target share, realised share, epochs) as PaLM's Table 2.
    ``counts`` are per-source document counters, ((source, counter), n), summed here (a key
    may come once per bundle): ``documents`` read and tokenized, ``dropped_<reason>`` not
    tokenized."""
    tally: dict[str, Counter[str]] = {}
    for (source, counter), n in counts:
        tally.setdefault(source, Counter())[counter] += int(n)
    records = sorted(records, key=lambda r: (SPLITS.index(r["split"]), r["index"]))
    realised = {split: Counter() for split in SPLITS}
    for r in records:
        realised[r["split"]].update(r["source_tokens"])
    total_by_source = {s: realised["train"][s] + realised["validation"][s] for s in plan.sources}
    shares = realised_shares(total_by_source)
    train_shares = realised_shares({s: realised["train"][s] for s in plan.sources})
    sources = {}
    for s, sp in plan.sources.items():
        sources[s] = {
            "weight": sp.weight,
            "documents": tally.get(s, {}).get("documents", 0),
            "pieces": sp.pieces,
            "available_tokens": sp.available_tokens,
            "target_share": sp.target_share,
            "target_tokens": round(sp.target_tokens, 3),
            "rate": sp.rate,
            "full_epochs": sp.full_epochs,
            "realised_tokens": {split: int(realised[split][s]) for split in SPLITS},
            "realised_share": shares[s],
            "realised_share_train": train_shares[s],
            "epochs": epochs(total_by_source[s], sp.available_tokens),
            "dropped": {k: v for k, v in sorted(tally.get(s, {}).items()) if k.startswith("dropped_")},
        }
        # Every document of the store is tokenized or dropped with a reason.
        read = sum(tally.get(s, {}).values())
        in_store = header.get("store_documents", {}).get(s)
        sources[s]["balanced"] = in_store is None or read == in_store
    splits = {}
    for split in SPLITS:
        rs = [r for r in records if r["split"] == split]
        splits[split] = {
            "shards": len(rs),
            "sequences": sum(r["sequences"] for r in rs),
            "tokens": sum(r["tokens"] for r in rs),
            "padding_tokens": sum(r["padding_tokens"] for r in rs),
            "pieces": sum(r["pieces"] for r in rs),
        }
    return {
        **header,
        "balanced": all(v["balanced"] for v in sources.values()),
        "format": SHARDS_FORMAT,
        "budget": {"mode": plan.budget, "total_tokens": plan.total_tokens},
        "sources": sources,
        "splits": splits,
        "shards": records,
    }


# ---------------------------------------------------------------------------------------------
# DoFns and combiners


# Text encoded, converted and spilled at a time: the encoder's arrays of a chunk (4 bytes per
# token) stay a few megabytes, and a document with an unencodable character costs one retry of
# its chunk.
ENCODE_CHUNK_CHARS = 1 << 18
# Pieces per PieceBatch (across the document lists of a bundle) and copies buffered per bundle
# before they are emitted towards their shards: Beam's in-process runner keeps every element it
# shuffles or buffers for a side input as an object with ~100 bytes of overhead per numpy
# column, so few large elements keep the references it holds near their raw size (~85 bytes per
# piece); both bounds keep a worker's own buffers to a few megabytes. Buffered copies cost ~100
# bytes each (their ids are Python strings): 2**16 of them kept the peak at size 8 of
# benchmarks/shards.py to 383-387 MB against 403-409 MB with 2**18, at no cost in CPU.
BATCH_PIECES = 1 << 13
FLUSH_COPIES = 1 << 16
PIECE_COLUMNS = ("ids", "piece", "pieces", "start", "end", "doc_base", "base", "lengths", "offsets")


class _TokenizeFn(CountingDoFn):
    """A batch of documents -> `PieceBatch`es (one per source): documents cut into pieces, each
    encoded with the vocabulary (loaded once per worker), end-of-document appended, the tokens
    appended to this bundle's spill file under ``spill_dir`` (any Beam filesystem)."""

    def __init__(self, vocab_path: str, seed: int, max_piece_chars: int, spill_dir: str) -> None:
        self.vocab_path = vocab_path
        self.seed = seed
        self.max_piece_chars = max_piece_chars
        self.spill_dir = spill_dir
        self.vocab = None

    def setup(self) -> None:
        tune_malloc()
        self.vocab = load_vocab(self.vocab_path)
        self.dtype = token_dtype(self.vocab.size)
        self.tokens_counter = beam.metrics.Metrics.counter("shards", "tokens")

    def start_bundle(self) -> None:
        super().start_bundle()
        # One spill file per bundle, named at random: a retried bundle writes a new file and its
        # references, so a failed attempt's file is never read (and is deleted with the folder).
        name = uuid.uuid4().hex
        self.spill = SpillWriter(create_file, join(self.spill_dir, f"{name}.tokens"), self.dtype)
        self.pieces = BlobWriter(create_file, join(self.spill_dir, f"{name}.pieces"))
        self._pending: dict[str, dict[str, list]] = {}

    def finish_bundle(self) -> Iterator[Any]:
        refs = [self._batch(source, cols) for source, cols in sorted(self._pending.items()) if cols["ids"]]
        self._pending = {}
        self.spill.close()
        self.pieces.close()
        for ref in refs:
            yield WindowedValue(ref, MIN_TIMESTAMP, [GlobalWindow()])
        yield from super().finish_bundle()

    def _encode(self, source: str, chunk: list[tuple[Document, list[tuple[int, int]]]], cols: dict[str, list]) -> None:
        """Encode a chunk of documents (always through `Vocab.encode_stream`: the same segments
        and ids as `Vocab.encode`, whose segmentation of long texts is what makes shard ids
        equal the exported tokenizer's, each piece followed by end-of-document, as one int32
        stream joined from SentencePiece's buffers), spill the tokens, add the pieces to
        ``cols``. A document that
        cannot be encoded losslessly (text holding U+10FFFF, see vocab.model) is counted as
        dropped and the rest of the chunk encoded again."""
        while chunk:
            texts = [doc.text[a:b] for doc, ranges in chunk for a, b in ranges]
            try:
                tokens, lengths = self.vocab.encode_stream(texts)
                break
            except UnencodableTextError as e:
                owner = [j for j, (_, ranges) in enumerate(chunk) for _ in ranges]
                self.count((source, "dropped_unencodable"))
                del chunk[owner[e.index]]
        else:
            return
        offset = self.spill.append(tokens.astype(self.dtype, copy=False))
        cols["lengths"].append(lengths)
        cols["offsets"].append(offset + np.cumsum(lengths) - lengths)
        self.tokens_counter.inc(len(tokens))
        self.count((source, "documents"), len(chunk))
        seed = self.seed
        bases = [base_hash(seed, doc.id) for doc, _ in chunk]
        if len(lengths) == len(chunk):  # one piece per document: the common case, in bulk
            cols["ids"].extend([doc.id for doc, _ in chunk])
            cols["piece"].extend([0] * len(chunk))
            cols["pieces"].extend([1] * len(chunk))
            cols["start"].extend([0] * len(chunk))
            cols["end"].extend([ranges[0][1] for _, ranges in chunk])
            cols["doc_base"].extend(bases)
            cols["base"].extend(bases)
            return
        for (doc, ranges), base in zip(chunk, bases):
            for p, (a, b) in enumerate(ranges):
                cols["ids"].append(doc.id)
                cols["piece"].append(p)
                cols["pieces"].append(len(ranges))
                cols["start"].append(a)
                cols["end"].append(b)
                cols["doc_base"].append(base)
                cols["base"].append(piece_base(base, p))

    def process(self, docs: list[Document]) -> Iterator[PieceRef]:
        by_source: dict[str, list[Document]] = {}
        for doc in docs:
            by_source.setdefault(doc.source, []).append(doc)
        for source, group in sorted(by_source.items()):
            cols = self._pending.setdefault(source, {k: [] for k in PIECE_COLUMNS})
            chunk: list[tuple[Document, list[tuple[int, int]]]] = []
            chars = 0
            for doc in group:
                chunk.append((doc, text_pieces(doc.text, self.max_piece_chars)))
                chars += len(doc.text)
                if chars >= ENCODE_CHUNK_CHARS:
                    self._encode(source, chunk, cols)
                    chunk, chars = [], 0
            self._encode(source, chunk, cols)
            if len(cols["ids"]) >= BATCH_PIECES:
                yield self._batch(source, self._pending.pop(source))

    def _batch(self, source: str, cols: dict[str, list]) -> PieceRef:
        """The pending pieces as a `PieceBatch`, pickled into this bundle's pieces file; returns
        its `PieceRef`."""
        batch = PieceBatch(
            source,
            cols["ids"],
            np.array(cols["piece"], dtype=np.int32),
            np.array(cols["pieces"], dtype=np.int32),
            np.array(cols["start"], dtype=np.int64),
            np.array(cols["end"], dtype=np.int64),
            np.array(cols["doc_base"], dtype=np.uint64),
            np.array(cols["base"], dtype=np.uint64),
            np.concatenate(cols["lengths"]),
            self.spill.path,
            np.concatenate(cols["offsets"]).astype(np.int64),
        )
        return PieceRef(source, batch.base, batch.doc_base, batch.lengths, dump_blob(self.pieces, batch))


class _EmitCopiesFn(beam.DoFn):
    """`PieceRef` -> ((split, shard), BlobRef): reads the batch back, finds the copies the plan
    gives its pieces, buffers them per shard within the bundle (at most ``FLUSH_COPIES`` in
    all) and pickles each shard's buffer into this bundle's copies file under ``spill_dir``;
    only the handle goes to the shard."""

    def __init__(self, spill_dir: str) -> None:
        self.spill_dir = spill_dir

    def start_bundle(self) -> None:
        self._buffers: dict[tuple[str, int], list[CopyBatch]] = {}
        self._buffered = 0
        self._copies = BlobWriter(create_file, join(self.spill_dir, f"{uuid.uuid4().hex}.copies"))

    def _flush(self) -> list[tuple[tuple[str, int], BlobRef]]:
        out = [(key, dump_blob(self._copies, concat_copies(self._buffers[key]))) for key in sorted(self._buffers)]
        self._buffers, self._buffered = {}, 0
        return out

    def process(self, ref: PieceRef, plan: MixturePlan) -> Iterator[tuple[tuple[str, int], BlobRef]]:
        if ref.source not in plan.sources:
            return
        for key, copies in shard_copies(load_blob(open_file, ref.blob), plan):
            self._buffers.setdefault(key, []).append(copies)
            self._buffered += len(copies.ids)
        if self._buffered >= FLUSH_COPIES:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        items = self._flush()
        self._copies.close()
        for item in items:
            yield WindowedValue(item, MIN_TIMESTAMP, [GlobalWindow()])


def tune_malloc() -> bool:
    """Keep freed memory in this process instead of unmapping it (glibc only; else a no-op).

    The stage allocates and frees buffers of megabytes (token batches, coder payloads, shards);
    glibc's default unmaps them on free and page-faults them back in on the next allocation.
    On 28 M tokens (benchmarks/shards.py) this call cut minor page faults from 847k to
    550-680k and CPU time from 7.5 s to 6.6-6.9 s. Setting the same values through the
    environment before the process starts (``benchmarks/shards.py --malloc-env``) gave no further
    measurable gain with this call in place (7.3 vs 7.2 s). Affects this worker process only;
    returns whether it applied.
    """
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
        # 32 MiB is glibc's ceiling for the mmap threshold on 64-bit. Fewer arenas: Beam's
        # threads would each get one, and memory freed in one is not reused by another.
        results = [
            libc.mallopt(m_mmap_threshold, 32 << 20),
            libc.mallopt(m_trim_threshold, 1 << 30),
            libc.mallopt(m_arena_max, 2),
        ]
        return all(r == 1 for r in results)
    except (OSError, AttributeError):
        return False


def _source_units(batch: PieceRef, validation_fraction: float) -> SourceUnits:
    return SourceUnits(batch.base, batch.lengths, validation_mask(batch.doc_base, validation_fraction))


# The planning passes gather with `CombinePerKey` on one key (`_ONE`), which the functions on
# either side add and drop themselves: a global combine (`CombineGlobally`) would add two
# transforms per pass for that, and every transform costs fixed time on the local runner.
_ONE = 0


def _totals(batch: PieceRef) -> tuple[int, tuple[str, np.ndarray]]:
    return _ONE, (batch.source, np.array([len(batch.base), int(batch.lengths.sum())], dtype=np.int64))


def _targets(keyed: tuple[int, dict[str, np.ndarray]], weights: dict[str, float], budget: int | None) -> tuple:
    return source_targets(weights, {s: tuple(v) for s, v in keyed[1].items()}, budget)


def _histogram(batch: PieceRef, targets: tuple, validation_fraction: float) -> Iterator[tuple[int, tuple[str, np.ndarray]]]:
    target = targets[1].get(batch.source)
    if target is not None:
        yield _ONE, (batch.source, bucket_histogram(target, _source_units(batch, validation_fraction)))


def _crossings(keyed: tuple[int, dict[str, np.ndarray]], targets: tuple) -> dict[str, tuple[int, int]]:
    histograms = keyed[1]
    empty = np.zeros(N_BUCKETS, np.int64)
    return {s: crossing_bucket(histograms.get(s, empty), t.remainder) for s, t in targets[1].items()}


def _members(
    batch: PieceRef, targets: tuple, crossings: dict, validation_fraction: float
) -> Iterator[tuple[int, tuple[str, tuple]]]:
    source = batch.source
    target = targets[1].get(source)
    if target is None:
        return
    keys, tokens = bucket_members(target, crossings[source][0], _source_units(batch, validation_fraction))
    if len(keys):
        yield _ONE, (source, (keys, tokens))


def _finish_sources(crossings: dict, targets: tuple, members: tuple[int, dict[str, tuple]] | None) -> dict[str, SourcePlan]:
    """Each source's plan once the crossings are known, from the members of its crossing
    bucket (``members`` is None when no source had any: every rate whole)."""
    found = members[1] if members is not None else {}
    none = (np.zeros(0, np.uint64), np.zeros(0, np.int64))
    plans = {}
    for s, t in targets[1].items():
        bucket, before = crossings[s]
        keys, tokens = found.get(s, none)
        plans[s] = finish_source(t, bucket, before, keys, tokens)
    return plans


def _split_sums(batch: PieceRef, plans: dict[str, SourcePlan], validation_fraction: float) -> tuple[int, np.ndarray]:
    if batch.source not in plans:
        return _ONE, np.zeros(4, np.int64)
    return _ONE, split_sums(plans[batch.source], _source_units(batch, validation_fraction))


def _plan(keyed: tuple[int, np.ndarray], targets: tuple, plans: dict[str, SourcePlan], config: ShardsConfig) -> Iterator[Any]:
    """The `MixturePlan`, and on the output tagged ``shard_keys`` a ``((split, index), None)``
    marker for every shard it plans (so that a shard no copy reaches is still written)."""
    plan = finish_plan(
        targets[0], config.budget is None, config.validation_fraction, plans, split_dict(keyed[1]), config.shard_tokens
    )
    yield plan
    for key in plan.shard_keys():
        yield beam.pvalue.TaggedOutput("shard_keys", (key, None))


class _PerKey(beam.CombineFn):
    """(key, value) pairs -> {key: ``inner`` combined over its values}: a per-key combine and
    the gathering of its results in one combine (on `_ONE`). Why: every Beam transform costs fixed
    time to build and run on the local runner, and this replaces three per planning pass."""

    def __init__(self, inner: beam.CombineFn) -> None:
        self.inner = inner

    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, acc: dict, item: tuple[Any, Any]) -> dict:
        key, value = item
        acc[key] = self.inner.add_input(acc[key] if key in acc else self.inner.create_accumulator(), value)
        return acc

    def merge_accumulators(self, accs: Iterable[dict]) -> dict:
        out: dict = {}
        for acc in accs:
            for key, value in acc.items():
                out[key] = self.inner.merge_accumulators([out[key], value]) if key in out else value
        return out

    def extract_output(self, acc: dict) -> dict:
        return {key: self.inner.extract_output(value) for key, value in sorted(acc.items())}


class _SumArrays(beam.CombineFn):
    """Elementwise sum of equal-shaped int64 arrays (None until the first one arrives)."""

    def create_accumulator(self) -> np.ndarray | None:
        return None

    def add_input(self, acc: np.ndarray | None, array: np.ndarray) -> np.ndarray:
        return array.astype(np.int64) if acc is None else acc + array

    def merge_accumulators(self, accs: Iterable[np.ndarray | None]) -> np.ndarray | None:
        out = None
        for a in accs:
            if a is not None:
                out = a if out is None else out + a
        return out

    def extract_output(self, acc: np.ndarray | None) -> np.ndarray | None:
        return acc


class _ConcatPairs(beam.CombineFn):
    """(keys, tokens) array pairs concatenated: the pieces of a source's crossing bucket."""

    def create_accumulator(self) -> list:
        return []

    def add_input(self, acc: list, pair: tuple) -> list:
        acc.append(pair)
        return acc

    def merge_accumulators(self, accs: Iterable[list]) -> list:
        return [p for a in accs for p in a]

    def extract_output(self, acc: list) -> tuple[np.ndarray, np.ndarray]:
        if not acc:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        return np.concatenate([k for k, _ in acc]), np.concatenate([t for _, t in acc])


# ---------------------------------------------------------------------------------------------
# Composite transforms


class ReadStoreDocuments(beam.PTransform):
    """Part file paths -> lists of `Document`s (id, source, text), as many per list as
    `read_part` reads at a time."""

    def expand(self, paths: beam.PCollection) -> beam.PCollection:
        return paths | "ReadPart" >> beam.FlatMap(read_part)


class TokenizeDocuments(beam.PTransform):
    """Lists of `Document`s -> `PieceRef`s, the vocabulary loaded once per worker in
    ``DoFn.setup``; documents longer than ``max_piece_chars`` are cut into pieces; tokens and
    the pickled `PieceBatch`es are written to spill files under ``spill_dir`` (two per bundle,
    any Beam filesystem).

    Returns ``{"tokenized": PieceRef, "counts": ((source, counter), n)}`` with counters
    ``documents`` (tokenized) and ``dropped_unencodable``, per bundle (not yet summed).
    """

    def __init__(
        self, vocab_path: str, seed: int, spill_dir: str, max_piece_chars: int = ShardsConfig.max_piece_chars
    ) -> None:
        super().__init__()
        self.vocab_path = vocab_path
        self.seed = seed
        self.spill_dir = spill_dir
        self.max_piece_chars = max_piece_chars

    def expand(self, docs: beam.PCollection) -> beam.PCollection:
        fn = _TokenizeFn(self.vocab_path, self.seed, self.max_piece_chars, self.spill_dir)
        out = docs | "Encode" >> beam.ParDo(fn).with_outputs(COUNTS, main="tokenized")
        # Per-bundle counts, summed where the manifest is built (a few per bundle: a side input
        # of that size costs less than a combine's four transforms).
        return {"tokenized": out.tokenized, "counts": out[COUNTS]}


class MixSources(beam.PTransform):
    """`PieceRef` -> ``{"copies": ((split, shard), BlobRef), "plan": MixturePlan, "shard_keys":
    ((split, shard), None) for every planned shard}``.

    The plan comes from the batches' references (`PieceRef`: hashes and lengths, 24 bytes per
    piece; the tokens stay in the spill files), in passes that each keep a fixed amount of state
    per source: token totals (the budget and each source's rate), a histogram of tokens over
    copy-key buckets (where each fractional epoch crosses its target), the pieces of that one
    bucket (the exact cut), and the planned tokens per split (the shard counts). Each batch is
    then read back from its spill file and emits the copies the plan gives its pieces, grouped
    by shard and pickled into a copies file under ``spill_dir``: a shard receives handles
    (`BlobRef`) to its `CopyBatch`es.
    """

    def __init__(self, weights: dict[str, float], config: ShardsConfig, spill_dir: str) -> None:
        super().__init__()
        self.weights = dict(weights)
        self.config = config
        self.spill_dir = spill_dir

    def expand(self, batches: beam.PCollection) -> dict[str, beam.PCollection]:
        weights, config = self.weights, self.config
        single = beam.pvalue.AsSingleton
        fraction = config.validation_fraction
        # Output: (total budget, {source: SourceTarget})
        targets = (
            batches
            | "Totals" >> beam.Map(_totals)
            | "SumTotals" >> beam.CombinePerKey(_PerKey(_SumArrays()))
            | "Targets" >> beam.Map(_targets, weights=weights, budget=config.budget)
        )
        # Output: {source: (crossing bucket, tokens before it)}
        crossings = (
            batches
            | "Histograms" >> beam.FlatMap(_histogram, targets=single(targets), validation_fraction=fraction)
            | "SumHistograms" >> beam.CombinePerKey(_PerKey(_SumArrays()))
            | "Crossings" >> beam.Map(_crossings, targets=single(targets))
        )
        # Output: {source: SourcePlan}
        members = (
            batches
            | "BucketMembers"
            >> beam.FlatMap(_members, targets=single(targets), crossings=single(crossings), validation_fraction=fraction)
            | "CollectMembers" >> beam.CombinePerKey(_PerKey(_ConcatPairs()))
        )
        # Runs once the crossings are known, with the members of the crossing buckets, or none
        # when no source has a fractional epoch to cut (every rate whole).
        plans = crossings | "SourcePlans" >> beam.Map(
            _finish_sources, targets=single(targets), members=beam.pvalue.AsSingleton(members, default_value=None)
        )
        plan = (
            batches
            | "SplitSums" >> beam.Map(_split_sums, plans=single(plans), validation_fraction=fraction)
            | "SumSplits" >> beam.CombinePerKey(_SumArrays())
            | "Plan"
            >> beam.FlatMap(_plan, targets=single(targets), plans=single(plans), config=config).with_outputs(
                "shard_keys", main="plan"
            )
        )
        copies = batches | "EmitCopies" >> beam.ParDo(_EmitCopiesFn(self.spill_dir), plan=single(plan.plan))
        return {"copies": copies, "plan": plan.plan, "shard_keys": plan.shard_keys}


class PackSequences(beam.PTransform):
    """``{"copies": ((split, shard), BlobRef), "plan": MixturePlan, "shard_keys": ...}`` (what
    `MixSources` returns) -> `PackedShard`: group the handles by shard, read the shard's
    `CopyBatch`es and sort them by key, read the tokens (``dtype``) from the spill files, pack.

    Every planned shard is packed, even one that received no copy (it is written empty), so
    shard names ``-of-N`` always list N files.
    """

    def __init__(self, config: ShardsConfig, pad_id: int, dtype: np.dtype) -> None:
        super().__init__()
        self.config = config
        self.pad_id = pad_id
        self.dtype = np.dtype(dtype)

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.PCollection:
        plan = inputs["plan"]
        return (
            (inputs["copies"], inputs["shard_keys"])
            | "WithEmptyShards" >> beam.Flatten()
            | "GroupByShard" >> beam.GroupByKey()
            | "Pack"
            >> beam.Map(
                pack_shard, plan=beam.pvalue.AsSingleton(plan), config=self.config, pad_id=self.pad_id, dtype=self.dtype
            )
        )


class WriteShards(beam.PTransform):
    """`PackedShard` -> shard records; writes each shard's files, then the manifest, last."""

    def __init__(self, out_dir: str, config: ShardsConfig, dtype: np.dtype, header: dict[str, Any]) -> None:
        super().__init__()
        self.out_dir = out_dir
        self.config = config
        self.dtype = np.dtype(dtype)
        self.header = header

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.PCollection:
        out_dir, config, dtype, header = self.out_dir, self.config, self.dtype, self.header
        records = inputs["shards"] | "Write" >> beam.Map(write_shard, out_dir=out_dir, config=config, dtype=dtype)
        # Runs once, on the plan, when every shard record is in: the records and the counts are
        # side inputs (a few hundred bytes per shard and per bundle), which costs fewer
        # transforms than gathering them with a combine. No plan (no piece of any source was
        # tokenized): no manifest, which `write_shards` reports.
        inputs["plan"] | "Manifest" >> beam.Map(
            _write_manifest,
            out_dir=out_dir,
            records=beam.pvalue.AsList(records),
            header=header,
            counts=beam.pvalue.AsList(inputs["counts"]),
        )
        return records


def _write_manifest(
    plan: MixturePlan, out_dir: str, records: list[dict[str, Any]], header: dict[str, Any], counts: list
) -> None:
    write_bytes_atomic(join(out_dir, MANIFEST), dumps_json(build_manifest(records, plan, header, counts)))


# ---------------------------------------------------------------------------------------------
# Stage driver


def shards_fingerprint(recipe: Any) -> str:
    """What the shards depend on in the recipe: everything but its name."""
    return recipe.fingerprint("seed", "sources", "build", "dedup", "quality", "vocab", "shards")


def stage_header(recipe: Any, store_dir: str, vocab: Any) -> dict[str, Any]:
    """Manifest fields known before the pipeline runs: provenance and fingerprints."""
    build = _read_build_manifest(store_dir)
    cfg = recipe.shards
    return {
        "dataprep_version": __version__,
        "recipe": recipe.name,
        "recipe_fingerprint": shards_fingerprint(recipe),
        "store_fingerprint": build.get("fingerprint"),
        "store_manifest_sha256": _store_manifest_sha256(store_dir),
        "vocab_fingerprint": vocab.fingerprint,
        "vocab_size": vocab.size,
        "eos_id": vocab.eos_id,
        "pad_id": pad_id_of(vocab),
        "token_dtype": token_dtype(vocab.size).name,
        "seed": recipe.seed,
        "config": to_plain(cfg),
        # Rows per source from the part files' footers, to balance the stage's account.
        "store_documents": {
            s.name: sum(_part_rows(p) for p in store_parts(store_dir, [s.name])) for s in recipe.sources
        },
    }


def store_parts(out_dir: str, names: Sequence[str]) -> list[str]:
    """The store's part files of ``names`` (in that order, each source's sorted), on any Beam
    filesystem."""
    if is_local(out_dir):
        return part_files(out_dir, names)
    return [
        path
        for name in names
        for path in sorted(m.path for m in BeamFileSystem().match(join(out_dir, "documents", name, "part-*.parquet")))
    ]


def _part_rows(path: str) -> int:
    return pq.ParquetFile(path if is_local(path) else open_file(path)).metadata.num_rows


def _read_build_manifest(out_dir: str) -> dict[str, Any]:
    if is_local(out_dir):
        return read_manifest(os.path.join(out_dir, BUILD_MANIFEST), BUILD_FORMAT)
    from pipelines.build import read_build_manifest

    return read_build_manifest(out_dir)


# The last local vocabulary loaded in this process and its file's identity: on the in-process
# runner the stage's driver and its tokenizing DoFn share one load (SentencePiece's encoder is
# read-only, safe to share between threads). One tuple, replaced whole, so a thread never sees
# a key without its vocabulary.
_LOADED: tuple[tuple, Any] | None = None


def load_vocab(path: str) -> Any:
    """`vocab.model.Vocab` from a vocab folder or ``.model`` file on any Beam filesystem."""
    global _LOADED
    if is_local(path):
        file = os.path.join(path, MODEL_FILE) if os.path.isdir(path) else path
        try:
            st = os.stat(file)
        except OSError:
            return Vocab.load(path)  # its own error for a missing model
        # ctime as well as mtime: a copy that keeps the mtime (cp -p) still changes the ctime.
        key = (os.path.abspath(file), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        loaded = _LOADED
        if loaded is not None and loaded[0] == key:
            return loaded[1]
        vocab = Vocab.load(path)
        _LOADED = (key, vocab)
        return vocab
    file = path if path.endswith(".model") else join(path, MODEL_FILE)
    try:
        data = read_bytes(file)
    except Exception:  # Beam's filesystems raise their own error types
        raise FormatError(f"{file}: no SentencePiece model (run `dataprep vocab train` first)") from None
    return Vocab(data, file)


def pad_id_of(vocab: Any) -> int:
    """The vocabulary's pad id, or its end-of-document id when it has no pad piece."""
    return vocab.pad_id if vocab.pad_id >= 0 else vocab.eos_id


def is_current(recipe: Any, out_dir: str) -> bool:
    """True when ``DIR/shards`` holds a complete output for this recipe, this store (the build
    manifest's checksum) and this vocabulary (the model's checksum). ``out_dir`` may be on any
    Beam filesystem; the shard files' sizes come from one listing of ``DIR/shards``."""
    try:
        manifest = load_manifest(out_dir)
        store_sha = _store_manifest_sha256(out_dir)
        vocab = load_vocab(join(out_dir, "vocab"))
    except (FormatError, OSError):  # Beam's BeamIOError is an OSError
        return False
    shards_dir = join(out_dir, SHARDS_DIR)
    sizes = {relative_to_root(f.path, shards_dir): f.size for f in BeamFileSystem().walk(shards_dir)}
    files_present = all(
        sizes.get(f["path"]) == f["bytes"] for shard in manifest.get("shards", []) for f in shard["files"].values()
    )
    return (
        manifest.get("recipe_fingerprint") == shards_fingerprint(recipe)
        and manifest.get("store_manifest_sha256") == store_sha
        and manifest.get("vocab_fingerprint") == vocab.fingerprint
        and files_present
    )


def _store_manifest_sha256(out_dir: str) -> str:
    """SHA-256 of the store's build manifest, on any Beam filesystem."""
    return hashlib.sha256(read_bytes(join(out_dir, BUILD_MANIFEST))).hexdigest()


def write_shards(
    recipe: Any,
    out_dir: str,
    *,
    workers: int = 1,
    beam_args: Sequence[str] = (),
    vocab_path: str | None = None,
) -> dict[str, Any]:
    """Run the shards stage: read ``out_dir/documents`` and ``out_dir/vocab``, write
    ``out_dir/shards`` (manifest last). Returns the manifest.

    Raises:
        FormatError: the store or the vocabulary is missing or unreadable.
        StageError: the pipeline failed or the mixture is impossible (a weighted source with no
            tokens); ``out_dir/shards`` is then left as it was.
    """
    tune_malloc()
    # Inputs in stage order: the store first (with the build's manifest), then the vocabulary.
    names = [s.name for s in recipe.sources]
    parts = store_parts(out_dir, names)
    if not parts:
        raise StageError(f"{out_dir}/documents: no part files for sources {', '.join(names)} (run `dataprep build` first)")
    _read_build_manifest(out_dir)
    vocab_path = vocab_path or join(out_dir, "vocab")
    vocab = load_vocab(vocab_path)
    if vocab.eos_id < 0:
        raise FormatError(f"{vocab_path}: the vocabulary has no end-of-document (eos) piece; retrain it with one")
    header = stage_header(recipe, out_dir, vocab)
    weights = {s.name: s.weight for s in recipe.sources}
    # A weighted source with no document can get no share: say so before starting Beam.
    resolve_budget(weights, header["store_documents"], 1)
    partial = join(out_dir, PARTIAL_DIR)
    remove_tree(partial)  # a killed run's partial output and spill
    if is_local(partial):
        os.makedirs(partial)
    cfg = recipe.shards
    started = time.time()
    options = pipeline_options(workers, beam_args)
    p = make_pipeline(options)
    # The part files are spread over workers by a reshuffle, which one local worker can skip.
    docs = p | "PartFiles" >> beam.Create(parts, reshuffle=not one_local_worker(options)) | "ReadStore" >> ReadStoreDocuments()
    spill = join(partial, SPILL_DIR)
    tokenized = docs | "Tokenize" >> TokenizeDocuments(vocab_path, recipe.seed, spill, cfg.max_piece_chars)
    mixed = tokenized["tokenized"] | "Mix" >> MixSources(weights, cfg, spill)
    shards = mixed | "PackSequences" >> PackSequences(cfg, pad_id_of(vocab), token_dtype(vocab.size))
    {"shards": shards, "plan": mixed["plan"], "counts": tokenized["counts"]} | "WriteShards" >> WriteShards(
        partial, cfg, token_dtype(vocab.size), header
    )
    try:
        state = p.run().wait_until_finish()
    except StageError:
        raise
    except Exception as e:  # a worker error surfaces as a runner-specific exception
        inner = _dataprep_error(e)
        if inner is not None:
            raise inner from None
        raise StageError(f"shards stage failed: {e}") from e
    manifest_path = join(partial, MANIFEST)
    if not (os.path.exists(manifest_path) if is_local(manifest_path) else FileSystems.exists(manifest_path)):
        if state != PipelineState.DONE:
            # A runner may return without having run the job to its end, e.g. one that only
            # stages a template, or a job cancelled without an error: not an empty mixture.
            raise StageError(
                f"the shards pipeline ended in state {state}, not {PipelineState.DONE}, without writing "
                f"{join(partial, MANIFEST)}; nothing was written to {join(out_dir, SHARDS_DIR)}"
            )
        # The manifest is written on the plan, and the planning combines emit nothing when no
        # piece of any source reached them.
        raise StageError(
            "no document of any source could be tokenized (every one was dropped as unencodable), so there is nothing to write"
        )
    if is_local(partial):
        manifest = read_manifest(os.path.join(partial, MANIFEST), SHARDS_FORMAT)
    else:
        manifest = json.loads(read_bytes(join(partial, MANIFEST)).decode("utf-8"))
    remove_tree(spill)  # the stage's own temporary output; never part of DIR/shards
    _swap_into_place(partial, join(out_dir, SHARDS_DIR))
    log.info("shards written in %.1fs", time.time() - started)
    return manifest


def _dataprep_error(e: BaseException) -> BaseException | None:
    # Beam wraps errors raised in workers; surface our own typed errors (e.g. an impossible
    # mixture) with their message instead of a runner traceback.
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, DataprepError):
            return e
        e = e.__cause__ or e.__context__
    return None


def _swap_into_place(partial: str, final: str) -> None:
    """Replace ``final`` by ``partial``. Between the two renames ``final`` is absent, never
    half-written; a rerun after a crash there simply redoes the stage.

    On an object store (no folder renames) the old manifest is deleted first, then the old
    objects; the new objects are renamed into place and the manifest last, so ``final`` never
    holds a manifest while it holds anything else than what that manifest lists."""
    if not is_local(final):
        objects = sorted(m.path for m in FileSystems.match([join(partial, "**")])[0].metadata_list)
        if FileSystems.exists(join(final, MANIFEST)):
            FileSystems.delete([join(final, MANIFEST)])
        remove_tree(final)
        last = join(partial, MANIFEST)
        moved = [p for p in objects if p != last]
        FileSystems.rename(moved, [final + p[len(partial) :] for p in moved])
        FileSystems.rename([last], [join(final, MANIFEST)])
        remove_tree(partial)
        return
    old = final + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final):
        os.replace(final, old)
    os.replace(partial, final)
    shutil.rmtree(old, ignore_errors=True)


def load_manifest(out_dir: str) -> dict[str, Any]:
    """``out_dir/shards/manifest.json`` on any Beam filesystem; `FormatError` when the stage
    has not completed."""
    from dataprep.shards.verify import load

    return load(out_dir, None if is_local(out_dir) else BeamFileSystem())


__all__ = [
    "MixSources",
    "PackSequences",
    "PackedShard",
    "ReadStoreDocuments",
    "TokenizeDocuments",
    "WriteShards",
    "build_manifest",
    "is_current",
    "load_manifest",
    "pack_shard",
    "read_part",
    "shard_name",
    "shard_paths",
    "shards_fingerprint",
    "write_shard",
    "write_shards",
]
