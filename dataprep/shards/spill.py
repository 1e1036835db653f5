"""Spill files: the tokenized corpus, written once, read back one shard at a time.

The shards stage tokenizes every document once, but needs the tokens only after the mixture is
planned from the whole corpus's token counts. Carrying token arrays through the planning passes
and the per-shard shuffle made Beam's in-process runner hold the tokenized corpus in memory
(twice: decoded, and encoded when read back), about 11 bytes per token. Instead, each tokenizing
bundle appends its pieces' tokens to one spill file under the stage's partial output folder
(``DIR/.shards.partial/spill/``, a temporary output of the stage like Beam's ``WriteToFiles``
temp folders), and only references (file, offset, length) travel through the pipeline. Each
shard's packer then reads its pieces' tokens back (`read_segments`), so memory is bounded by one
shard, whatever the corpus size. The spill folder is deleted before the output is swapped into
place.

A spill file is raw little-endian tokens in the shard token dtype (uint16 below 65,500 ids,
else int32), pieces back to back, nothing else: the references say where each piece is.
Beam-free: callers pass file objects (local ``open`` or Beam's ``FileSystems``).
"""

from __future__ import annotations

import pickle
from typing import Any, BinaryIO, Callable, NamedTuple

import numpy as np

# Reading a shard's pieces of one spill file: segments closer than MAX_GAP tokens are read in
# one request (a range read on an object store costs a round trip; on a local disk a syscall)
# and runs are capped at MAX_RUN tokens so the read buffer stays small next to a shard.
MAX_GAP = 1 << 15
MAX_RUN = 1 << 22


class SpillWriter:
    """Appends token arrays to one spill file (a `BlobWriter`), opened on the first append.

    ``create(path)`` returns a writable binary file object (local ``open(path, "wb")`` or
    ``FileSystems.create``). `append` returns the array's offset in the file, in tokens.
    """

    def __init__(self, create: Callable[[str], BinaryIO], path: str, dtype: np.dtype) -> None:
        self.path = path
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self._blobs = BlobWriter(create, path)

    def append(self, tokens: np.ndarray) -> int:
        """Write ``tokens`` (converted to the spill dtype); return where they start."""
        ref = self._blobs.append(np.ascontiguousarray(tokens, dtype=self.dtype).data)
        return ref.offset // self.dtype.itemsize

    def close(self) -> None:
        """Close the file (a no-op when nothing was appended)."""
        self._blobs.close()

    @property
    def tokens(self) -> int:
        """Tokens appended so far."""
        return self._blobs.bytes // self.dtype.itemsize



def _read_exactly(f: BinaryIO, out: np.ndarray) -> None:
    view = memoryview(out).cast("B")
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            raise EOFError(f"spill file ended after {got} of {len(view)} bytes")
        got += n


def read_segments(
    f: BinaryIO,
    src: np.ndarray,
    lengths: np.ndarray,
    dest: np.ndarray,
    out: np.ndarray,
    *,
    max_gap: int = MAX_GAP,
    max_run: int = MAX_RUN,
) -> None:
    """Copy segments of a spill file into ``out``: ``f[src[i]:src[i] + lengths[i]]`` (in tokens
    of ``out.dtype``) goes to ``out[dest[i]:dest[i] + lengths[i]]``.

    Segments are read in file order, nearby ones coalesced into one read of at most ``max_run``
    tokens (or one segment, if longer), so the number of reads is small and the buffer bounded.
    A segment listed twice (a repeated piece) is read once per run and copied twice.

    >>> import io
    >>> f = io.BytesIO(np.arange(10, dtype="<u2").tobytes())
    >>> out = np.zeros(5, np.uint16)
    >>> read_segments(f, np.array([7, 1]), np.array([2, 3]), np.array([0, 2]), out)
    >>> out.tolist()
    [7, 8, 1, 2, 3]
    """
    if not len(src):
        return
    itemsize = out.dtype.itemsize
    order = np.argsort(src, kind="stable")
    s_sorted = src[order].tolist()
    l_sorted = lengths[order].tolist()
    d_sorted = dest[order].tolist()
    n = len(s_sorted)
    i = 0
    while i < n:
        run_start = s_sorted[i]
        run_end = run_start + l_sorted[i]
        j = i + 1
        while j < n and s_sorted[j] - run_end <= max_gap and max(run_end, s_sorted[j] + l_sorted[j]) - run_start <= max_run:
            run_end = max(run_end, s_sorted[j] + l_sorted[j])
            j += 1
        f.seek(run_start * itemsize)
        if j == i + 1:  # one segment: read straight into place
            d = d_sorted[i]
            _read_exactly(f, out[d : d + l_sorted[i]])
        else:
            buf = np.empty(run_end - run_start, dtype=out.dtype)
            _read_exactly(f, buf)
            for k in range(i, j):
                a = s_sorted[k] - run_start
                d = d_sorted[k]
                out[d : d + l_sorted[k]] = buf[a : a + l_sorted[k]]
        i = j


class BlobRef(NamedTuple):
    """Where a blob sits in a spill file: ``length`` bytes at byte ``offset`` of ``path``."""

    path: str
    offset: int
    length: int


class BlobWriter:
    """Appends byte blobs (a batch of piece or copy references, pickled) to one spill file,
    opened on the first append; `append` returns the blob's `BlobRef`. The pipeline then moves
    only these small handles, so the references themselves are never held by the runner."""

    def __init__(self, create: Callable[[str], BinaryIO], path: str) -> None:
        self.create = create
        self.path = path
        self._file: BinaryIO | None = None
        self._bytes = 0

    def append(self, data: bytes | memoryview) -> BlobRef:
        """Write ``data``; return where it sits."""
        if self._file is None:
            self._file = self.create(self.path)
        n = memoryview(data).nbytes  # a numpy array's memoryview has len() in items, not bytes
        ref = BlobRef(self.path, self._bytes, n)
        self._file.write(data)
        self._bytes += n
        return ref

    def close(self) -> None:
        """Close the file (a no-op when nothing was appended)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def bytes(self) -> int:
        """Bytes appended so far."""
        return self._bytes


def dump_blob(writer: BlobWriter, obj: object) -> BlobRef:
    """Pickle ``obj`` into the writer's file (the stage's own temporary data, read back by the
    same code)."""
    return writer.append(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def load_blob(open_file: Callable[[str], BinaryIO], ref: BlobRef) -> Any:
    """The object `dump_blob` wrote at ``ref``."""
    buf = bytearray(ref.length)
    with open_file(ref.path) as f:
        f.seek(ref.offset)
        view = memoryview(buf)
        got = 0
        while got < ref.length:
            n = f.readinto(view[got:])
            if not n:
                raise EOFError(f"{ref.path}: blob at {ref.offset} ends after {got} of {ref.length} bytes")
            got += n
    return pickle.loads(buf)
