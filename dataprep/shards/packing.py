"""Packing: documents (token arrays ending in end-of-document) into fixed-length sequences.

As PaLM §5: "Input examples are concatenated together and then split into sequences of exactly
2048 tokens, so that there are no padding tokens, but examples may be split in the middle."
A shard's documents are concatenated in shuffle order and cut every ``sequence_length`` tokens;
only the shard's last sequence can be partial, and it is padded (or kept short). Everything is
numpy over the whole shard: no per-token Python.

    >>> p = pack([np.array([5, 6, 1]), np.array([7, 1])], 2, pad_id=0, segment_ids=True)
    >>> p.tokens.tolist(), p.lengths.tolist(), p.segment_ids.tolist()
    ([5, 6, 1, 7, 1, 0], [2, 2, 2], [1, 1, 1, 2, 1, 0])
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np


class Packed(NamedTuple):
    """One shard's packed stream.

    ``tokens`` is the flat stream (padding included; int32, or the compact token dtype the
    shards stage packs in); sequence ``i`` is
    ``tokens[offsets[i]:offsets[i] + lengths[i]]``. ``segment_ids`` (or None) runs parallel to
    ``tokens``. ``doc_offsets``/``doc_lengths`` locate each input document in the stream, for
    the shard's document index. ``padding`` counts pad tokens (all in the last sequence).
    """

    tokens: np.ndarray
    lengths: np.ndarray
    segment_ids: np.ndarray | None
    doc_offsets: np.ndarray
    doc_lengths: np.ndarray
    padding: int

    @property
    def offsets(self) -> np.ndarray:
        """Start of each sequence in ``tokens``."""
        return np.concatenate([[0], np.cumsum(self.lengths[:-1], dtype=np.int64)]).astype(np.int64)

    def sequences(self) -> list[np.ndarray]:
        """The sequences as a list of arrays (views into ``tokens``)."""
        return np.split(self.tokens, np.cumsum(self.lengths)[:-1]) if len(self.lengths) else []


def gather(tokens: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Concatenate the segments ``tokens[offsets[i]:offsets[i] + lengths[i]]`` for ``i`` in
    ``order``. One slice per segment (a document piece), copied in C: measured 2x faster here
    than a per-token index array, which costs 8 bytes of index per token.

    >>> gather(np.array([1, 2, 3, 4, 5]), np.array([0, 2]), np.array([2, 3]), np.array([1, 0])).tolist()
    [3, 4, 5, 1, 2]
    """
    if not len(order):
        return tokens[:0]
    starts = offsets[order].tolist()
    ends = (offsets[order] + lengths[order]).tolist()
    return np.concatenate([tokens[a:b] for a, b in zip(starts, ends)])


def pack(
    docs: Sequence[np.ndarray],
    sequence_length: int,
    pad_id: int,
    *,
    segment_ids: bool = False,
    last_sequence: str = "pad",
) -> Packed:
    """Concatenate ``docs`` in order and cut into ``sequence_length`` sequences.

    Args:
        docs: token arrays, each already ending with the end-of-document id.
        sequence_length: tokens per sequence.
        pad_id: id that fills the last sequence when ``last_sequence == "pad"``.
        segment_ids: also number document pieces 1, 2, ... within each sequence (0 = padding).
        last_sequence: ``"pad"`` or ``"short"``.
    Returns:
        The `Packed` stream.
    """
    doc_lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    stream = np.concatenate(docs).astype(np.int32, copy=False) if len(docs) else np.zeros(0, np.int32)
    return pack_flat(stream, doc_lengths, sequence_length, pad_id, segment_ids=segment_ids, last_sequence=last_sequence)


def pack_flat(
    stream: np.ndarray,
    doc_lengths: np.ndarray,
    sequence_length: int,
    pad_id: int,
    *,
    segment_ids: bool = False,
    last_sequence: str = "pad",
) -> Packed:
    """`pack` for documents already concatenated: ``stream`` holds them back to back and
    ``doc_lengths`` says how long each is. ``stream`` may be longer than the documents (room for
    the padding, see `padded_length`): what follows them is overwritten with ``pad_id`` and
    dropped beyond the padding, so a caller can fill the final buffer in place instead of
    copying a shard's stream once more. Integer dtypes are kept (the shards stage packs in the
    compact token dtype); others become int32."""
    if stream.dtype.kind not in "iu":
        stream = stream.astype(np.int32)
    doc_lengths = doc_lengths.astype(np.int64, copy=False)
    n = int(doc_lengths.sum())
    if len(stream) < n:
        raise ValueError(f"stream of {len(stream)} tokens is shorter than its documents ({n})")
    rows = -(-n // sequence_length)
    padding = rows * sequence_length - n if last_sequence == "pad" else 0
    if len(stream) >= n + padding:
        stream = stream[: n + padding]
        stream[n:] = pad_id
    else:
        stream = np.concatenate([stream[:n], np.full(padding, pad_id, dtype=stream.dtype)])
    lengths = np.full(rows, sequence_length, dtype=np.int32)
    if rows and last_sequence != "pad":
        lengths[-1] = n - (rows - 1) * sequence_length
    doc_offsets = (np.cumsum(doc_lengths) - doc_lengths).astype(np.int64)
    seg = None
    if segment_ids:
        seg = _segment_ids(doc_lengths, n, rows, sequence_length, padding)
    return Packed(stream, lengths, seg, doc_offsets, doc_lengths, int(padding))


def padded_length(tokens: int, sequence_length: int, last_sequence: str = "pad") -> int:
    """Length of a packed stream of ``tokens`` tokens, padding included.

    >>> padded_length(5, 4), padded_length(5, 4, "short"), padded_length(0, 4)
    (8, 5, 0)
    """
    return -(-tokens // sequence_length) * sequence_length if last_sequence == "pad" else tokens


def _segment_ids(doc_lengths: np.ndarray, n: int, rows: int, sequence_length: int, padding: int) -> np.ndarray:
    # Document number of every token, then renumbered from 1 within each sequence.
    doc_of_token = np.repeat(np.arange(len(doc_lengths), dtype=np.int64), doc_lengths)
    row_starts = np.arange(rows, dtype=np.int64) * sequence_length
    first_doc = doc_of_token[row_starts[row_starts < n]] if n else np.zeros(0, np.int64)
    row_of_token = np.arange(n, dtype=np.int64) // sequence_length
    seg = (doc_of_token - first_doc[row_of_token] + 1).astype(np.int32)
    if padding:
        seg = np.concatenate([seg, np.zeros(padding, dtype=np.int32)])
    return seg


def text_pieces(text: str, max_chars: int) -> list[tuple[int, int]]:
    r"""Character ranges cutting ``text`` into pieces of at most ``max_chars`` characters, each
    cut placed after the last line break (else the last whitespace) in the second half of the
    window, and hard only when there is neither. The pieces tile the text exactly.

    >>> text_pieces("aaaa\nbbbb\ncc", 6)
    [(0, 5), (5, 10), (10, 12)]
    >>> text_pieces("short", 100)
    [(0, 5)]
    """
    n = len(text)
    if n <= max_chars:
        return [(0, n)]
    out = []
    start = 0
    while n - start > max_chars:
        end = start + max_chars
        lo = start + max_chars // 2
        cut = text.rfind("\n", lo, end) + 1
        if cut <= lo:
            cut = max(text.rfind(" ", lo, end), text.rfind("\t", lo, end)) + 1
        if cut <= lo:
            cut = end
        out.append((start, cut))
        start = cut
    out.append((start, n))
    return out


def split_documents(tokens: np.ndarray, eos_id: int) -> list[np.ndarray]:
    """Cut a stream back into documents at each end-of-document id (the id is dropped).

    A trailing piece without end-of-document (padding or a cut) is returned last as is.

    >>> [d.tolist() for d in split_documents(np.array([5, 6, 1, 7, 1]), 1)]
    [[5, 6], [7]]
    """
    ends = np.flatnonzero(tokens == eos_id)
    pieces, start = [], 0
    for e in ends:
        pieces.append(tokens[start:e])
        start = int(e) + 1
    if start < len(tokens):
        pieces.append(tokens[start:])
    return pieces
