"""Columnar batches of pieces: what flows between the shards stage's Beam steps.

Beam costs about 11 µs per element here (DESIGN.md), and a pickled numpy array per document
more; so elements are coarse: a batch is one row group of a store part file (about a thousand
documents), its pieces as parallel numpy columns, their tokens in a spill file (see
`dataprep.shards.spill`: only references travel through the pipeline). Every
per-piece decision (split, copies, shuffle key, shard) is then one vectorised numpy expression
over the batch, and each shard's packer receives a few batches, not thousands of documents.

    PieceBatch   pieces of one source's documents, tokens in a spill file, itself pickled
                 into a spill file; `PieceRef` (hashes, lengths, blob) travels (Tokenize -> Mix)
    CopyBatch    the copies of pieces bound for one shard, as spill references, pickled
                 into a spill file; its `BlobRef` travels                      (Mix -> Pack)
"""

from __future__ import annotations

from typing import BinaryIO, Callable, Iterator, NamedTuple, Sequence

import numpy as np

from dataprep.mixing import SHUFFLE, MixturePlan, copy_counts, derive_array, expand_copies, shard_array, validation_mask
from dataprep.shards.packing import Packed, pack_flat, padded_length
from dataprep.shards.spill import BlobRef, read_segments


class PieceBatch(NamedTuple):
    """Pieces of documents of one source, column by column, their tokens in a spill file.

    ``ids`` document ids; ``piece``/``pieces`` index of the piece and pieces in its document;
    ``start``/``end`` the piece's character range in the document; ``doc_base`` the
    document's hash (decides the split), ``base`` the piece's (decides copies and order);
    ``lengths`` tokens per piece including end-of-document; ``file`` the spill file holding the
    tokens and ``offsets`` where each piece starts in it (in tokens, see `dataprep.shards.spill`).
    A batch is a few kilobytes per thousand pieces whatever their length: the tokens themselves
    never travel through the pipeline.
    """

    source: str
    ids: list[str]
    piece: np.ndarray
    pieces: np.ndarray
    start: np.ndarray
    end: np.ndarray
    doc_base: np.ndarray
    base: np.ndarray
    lengths: np.ndarray
    file: str
    offsets: np.ndarray


class PieceRef(NamedTuple):
    """What the planning passes need of a `PieceBatch` (per piece: hash, document hash, tokens;
    17-24 bytes) and where the whole batch is: pickled in a spill file at ``blob`` (a
    `dataprep.shards.spill.BlobRef`), read back once the plan is known."""

    source: str
    base: np.ndarray
    doc_base: np.ndarray
    lengths: np.ndarray
    blob: BlobRef


class CopyBatch(NamedTuple):
    """Copies of pieces bound for one shard, column by column; ``key`` is each copy's shuffle
    key, ``copy`` its repeat index; the tokens are ``lengths`` tokens at ``offsets`` in the spill
    file ``files[file_index]``. Once packed the batch only records provenance (``files`` empty,
    ``file_index`` and ``offsets`` None)."""

    key: np.ndarray
    ids: list[str]
    sources: list[str]
    piece: np.ndarray
    pieces: np.ndarray
    copy: np.ndarray
    start: np.ndarray
    end: np.ndarray
    lengths: np.ndarray
    files: tuple[str, ...]
    file_index: np.ndarray | None
    offsets: np.ndarray | None


def shard_copies(batch: PieceBatch, plan: MixturePlan) -> Iterator[tuple[tuple[str, int], CopyBatch]]:
    """The copies the plan gives the batch's pieces, grouped by (split, shard index).

    Vectorised: copy counts from the source's threshold, the split from the document hash,
    each copy's shuffle key from (piece hash, repeat index), its shard from the key. Copies
    carry their piece's spill reference, not tokens.
    """
    sp = plan.sources.get(batch.source)
    if sp is None or not len(batch.ids):
        return
    counts = copy_counts(sp, batch.base)
    rep, k = expand_copies(counts)
    if not len(rep):
        return
    keys = derive_array(batch.base[rep], SHUFFLE + k)
    validation = validation_mask(batch.doc_base[rep], plan.validation_fraction)
    for split, mask in (("train", ~validation), ("validation", validation)):
        n_shards = plan.shards.get(split, 0)
        if not n_shards or not mask.any():
            continue
        shard = shard_array(keys[mask], n_shards)
        sel_rep, sel_k, sel_keys = rep[mask], k[mask], keys[mask]
        for s in np.unique(shard).tolist():
            m = shard == s
            r = sel_rep[m]
            yield (split, int(s)), CopyBatch(
                key=sel_keys[m],
                ids=[batch.ids[i] for i in r.tolist()],
                sources=[batch.source] * len(r),
                piece=batch.piece[r],
                pieces=batch.pieces[r],
                copy=sel_k[m].astype(np.int32),
                start=batch.start[r],
                end=batch.end[r],
                lengths=batch.lengths[r],
                files=(batch.file,),
                file_index=np.zeros(len(r), dtype=np.int32),
                offsets=batch.offsets[r],
            )


def concat_copies(batches: Sequence[CopyBatch]) -> CopyBatch:
    """One `CopyBatch` holding every copy of ``batches`` in the given order (their spill files
    listed once each, in sorted order)."""
    if not batches:
        i64, i32 = np.zeros(0, np.int64), np.zeros(0, np.int32)
        return CopyBatch(np.zeros(0, np.uint64), [], [], i32, i32, i32, i64, i64, i64, (), i32, i64)
    files = tuple(sorted({f for b in batches for f in b.files}))
    number = {f: i for i, f in enumerate(files)}
    return CopyBatch(
        key=np.concatenate([b.key for b in batches]),
        ids=[i for b in batches for i in b.ids],
        sources=[s for b in batches for s in b.sources],
        piece=np.concatenate([b.piece for b in batches]),
        pieces=np.concatenate([b.pieces for b in batches]),
        copy=np.concatenate([b.copy for b in batches]),
        start=np.concatenate([b.start for b in batches]),
        end=np.concatenate([b.end for b in batches]),
        lengths=np.concatenate([b.lengths for b in batches]).astype(np.int64, copy=False),
        files=files,
        file_index=np.concatenate(
            [np.array([number[f] for f in b.files], dtype=np.int32)[b.file_index] for b in batches]
        ),
        offsets=np.concatenate([b.offsets for b in batches]).astype(np.int64, copy=False),
    )


def shuffle_and_pack(
    batches: Sequence[CopyBatch],
    open_file: Callable[[str], BinaryIO],
    dtype: np.dtype,
    sequence_length: int,
    pad_id: int,
    *,
    segment_ids: bool = False,
    last_sequence: str = "pad",
) -> tuple[Packed, CopyBatch]:
    """Order a shard's copies by shuffle key (ties by id, piece, copy: arrival order never
    matters), read their tokens from the spill files (``open_file(path)`` gives a readable,
    seekable binary file; tokens are ``dtype``, little-endian) straight into their place in the
    shard's stream, and pack. Returns the packed stream and the copies' provenance in stream
    order. Memory: the shard's stream and its references, never more than one shard."""
    merged = concat_copies(batches)
    n = len(merged.ids)
    order = np.lexsort((merged.copy, merged.piece, np.array(merged.ids, dtype=str), merged.key)) if n else np.zeros(0, np.int64)
    lengths = merged.lengths[order]
    dest = np.empty(n, dtype=np.int64)
    dest[order] = np.cumsum(lengths) - lengths
    # Read straight into the final buffer, padding room included: no copy of the shard's stream.
    total = int(lengths.sum())
    stream = np.empty(padded_length(total, sequence_length, last_sequence), dtype=np.dtype(dtype).newbyteorder("<"))
    # Each spill file is opened once and its segments read in file order.
    by_file = np.argsort(merged.file_index, kind="stable")
    bounds = np.searchsorted(merged.file_index[by_file], np.arange(len(merged.files) + 1))
    for i, path in enumerate(merged.files):
        sel = by_file[bounds[i] : bounds[i + 1]]
        with open_file(path) as f:
            read_segments(f, merged.offsets[sel], merged.lengths[sel], dest[sel], stream)
    packed = pack_flat(stream, lengths, sequence_length, pad_id, segment_ids=segment_ids, last_sequence=last_sequence)
    o = order.tolist()
    provenance = CopyBatch(
        key=merged.key[order],
        ids=[merged.ids[i] for i in o],
        sources=[merged.sources[i] for i in o],
        piece=merged.piece[order],
        pieces=merged.pieces[order],
        copy=merged.copy[order],
        start=merged.start[order],
        end=merged.end[order],
        lengths=lengths,
        files=(),
        file_index=None,
        offsets=None,
    )
    return packed, provenance
