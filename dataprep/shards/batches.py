"""Columnar batches of pieces: what flows between the shards stage's Beam steps.

Beam costs about 11 µs per element here (DESIGN.md), and a pickled numpy array per document
more; so elements are coarse: a batch is one row group of a store part file (about a thousand
documents), its pieces as parallel numpy columns and all their tokens in one flat array. Every
per-piece decision (split, copies, shuffle key, shard) is then one vectorised numpy expression
over the batch, and each shard's packer receives a few batches, not thousands of documents.

    TokenBatch   pieces of one source's documents, with tokens    (Tokenize -> Mix)
    CopyBatch    the copies of pieces bound for one shard          (Mix -> Pack)
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Sequence

import numpy as np

from dataprep.mixing import SHUFFLE, MixturePlan, copy_counts, derive_array, expand_copies, shard_array, validation_mask
from dataprep.shards.packing import Packed, gather, pack_flat


class TokenBatch(NamedTuple):
    """Pieces of documents of one source, column by column.

    ``ids`` document ids; ``piece``/``pieces`` index of the piece and pieces in its document;
    ``start``/``end`` the piece's character range in the document; ``doc_base`` the
    document's hash (decides the split), ``base`` the piece's (decides copies and order);
    ``lengths`` tokens per piece including end-of-document; ``tokens`` all pieces' tokens back
    to back (the shard dtype: uint16 below 65,500 ids, else int32, see
    `dataprep.shards.formats.token_dtype`; half the memory and shuffle bytes for small vocabularies).
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
    tokens: np.ndarray

    @property
    def offsets(self) -> np.ndarray:
        """Start of each piece in ``tokens``."""
        return np.cumsum(self.lengths) - self.lengths


class CopyBatch(NamedTuple):
    """Copies of pieces bound for one shard, column by column; ``key`` is each copy's shuffle
    key, ``copy`` its repeat index, ``tokens`` the copies' tokens back to back (None once
    packed, when the batch only records provenance)."""

    key: np.ndarray
    ids: list[str]
    sources: list[str]
    piece: np.ndarray
    pieces: np.ndarray
    copy: np.ndarray
    start: np.ndarray
    end: np.ndarray
    lengths: np.ndarray
    tokens: np.ndarray | None


def with_eos(ids: Sequence[int], eos_id: int, dtype: np.dtype = np.dtype(np.int32)) -> np.ndarray:
    """Token ids plus end-of-document as ``dtype``, converted in C.

    Converting each encoder output right away (rather than keeping a batch of Python int lists
    and flattening at the end) frees the ints while they are hot: measured 2 s of page faults
    saved on 28 M tokens, as Python's allocator stops returning and re-mapping arenas.

    >>> with_eos([5, 6], 1).tolist()
    [5, 6, 1]
    """
    out = np.empty(len(ids) + 1, dtype=dtype)
    out[:-1] = ids
    out[-1] = eos_id
    return out


def token_batch(
    source: str,
    ids: Sequence[str],
    piece: Sequence[int],
    pieces: Sequence[int],
    start: Sequence[int],
    end: Sequence[int],
    doc_base: Sequence[int],
    base: Sequence[int],
    token_arrays: Sequence[np.ndarray],
) -> TokenBatch:
    """A `TokenBatch` from per-piece columns and token arrays (each already ending with the
    end-of-document id, see `with_eos`)."""
    lengths = np.fromiter(map(len, token_arrays), dtype=np.int64, count=len(token_arrays))
    tokens = np.concatenate(token_arrays) if len(token_arrays) else np.zeros(0, np.int32)
    return TokenBatch(
        source,
        list(ids),
        np.asarray(piece, dtype=np.int32),
        np.asarray(pieces, dtype=np.int32),
        np.asarray(start, dtype=np.int64),
        np.asarray(end, dtype=np.int64),
        np.asarray(doc_base, dtype=np.uint64),
        np.asarray(base, dtype=np.uint64),
        lengths,
        tokens,
    )


def shard_copies(batch: TokenBatch, plan: MixturePlan) -> Iterator[tuple[tuple[str, int], CopyBatch]]:
    """The copies the plan gives the batch's pieces, grouped by (split, shard index).

    Vectorised: copy counts from the source's threshold, the split from the document hash,
    each copy's shuffle key from (piece hash, repeat index), its shard from the key.
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
    offsets = batch.offsets
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
                tokens=gather(batch.tokens, offsets, batch.lengths, r),
            )


def concat_copies(batches: Sequence[CopyBatch]) -> CopyBatch:
    """One `CopyBatch` holding every copy of ``batches``, in the given order."""
    if not batches:
        i64, i32 = np.zeros(0, np.int64), np.zeros(0, np.int32)
        return CopyBatch(np.zeros(0, np.uint64), [], [], i32, i32, i32, i64, i64, i64, i32)
    return CopyBatch(
        key=np.concatenate([b.key for b in batches]),
        ids=[i for b in batches for i in b.ids],
        sources=[s for b in batches for s in b.sources],
        piece=np.concatenate([b.piece for b in batches]),
        pieces=np.concatenate([b.pieces for b in batches]),
        copy=np.concatenate([b.copy for b in batches]),
        start=np.concatenate([b.start for b in batches]),
        end=np.concatenate([b.end for b in batches]),
        lengths=np.concatenate([b.lengths for b in batches]),
        tokens=np.concatenate([b.tokens for b in batches]),
    )


def shuffle_and_pack(
    batches: Sequence[CopyBatch],
    sequence_length: int,
    pad_id: int,
    *,
    segment_ids: bool = False,
    last_sequence: str = "pad",
) -> tuple[Packed, CopyBatch]:
    """Order a shard's copies by shuffle key (ties by id, piece, copy: arrival order never
    matters) and pack them. Returns the packed stream and the copies' provenance in stream
    order (tokens dropped)."""
    merged = concat_copies(batches)
    order = np.lexsort((merged.copy, merged.piece, np.array(merged.ids, dtype=str), merged.key)) if merged.ids else np.zeros(0, np.int64)
    offsets = np.cumsum(merged.lengths) - merged.lengths
    stream = gather(merged.tokens, offsets, merged.lengths, order)
    lengths = merged.lengths[order]
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
        tokens=None,
    )
    return packed, provenance
