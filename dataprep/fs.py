"""File access behind a small interface, so the core reads local files in tests and any Beam
filesystem (gs://, s3://, hdfs://) in pipelines without importing Beam here.

`FileSystem` is what readers and the recipe validator use. `LocalFileSystem` serves local paths;
``pipelines.fs.BeamFileSystem`` serves every scheme Beam knows. `FileWriter` is the matching
write side for stages outside Beam that write a few files (the vocabulary): `LocalFileWriter`
here, a Beam one in ``pipelines``. `open_decompressed` makes ``.gz``, ``.bz2`` and ``.zst``
inputs transparent wherever files are read.
"""

from __future__ import annotations

import bz2
import glob as _glob
import gzip
import io
import os
import posixpath
from typing import BinaryIO, Iterator, NamedTuple, Protocol

import zstandard

COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst")


class FileInfo(NamedTuple):
    path: str
    size: int


class FileSystem(Protocol):
    """The file operations the core needs. Paths are strings in the filesystem's own scheme."""

    def match(self, pattern: str) -> list[FileInfo]:
        """Files matching a glob (``**`` recursive), sorted by path. Directories are not listed."""

    def open(self, path: str) -> BinaryIO:
        """Open a file for binary reading (no decompression)."""

    def is_dir(self, path: str) -> bool:
        """True when ``path`` is a directory (an object prefix on object stores)."""

    def walk(self, root: str) -> Iterator[FileInfo]:
        """Every regular file below ``root``, sorted, never following a link out of the tree."""

    def is_symlink(self, path: str) -> bool:
        """True when ``path`` is a symbolic link (always False on object stores)."""


class FileWriter(Protocol):
    """Whole-file writes for outputs written outside a pipeline. Paths as for `FileSystem`."""

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path`` atomically (temporary name, then rename): a reader never
        sees a partial file under the final name. Parent folders are created as needed."""

    def remove(self, path: str) -> None:
        """Delete the file ``path`` if it exists (no error when it does not)."""


class LocalFileSystem:
    """`FileSystem` over local paths. Symlinks are resolved and must stay inside the root."""

    def match(self, pattern: str) -> list[FileInfo]:
        paths = _glob.glob(os.path.expanduser(pattern), recursive=True)
        if not paths and os.path.exists(pattern):
            paths = [pattern]
        out = []
        for p in sorted(paths):
            if os.path.isfile(p) or os.path.isdir(p):
                out.append(FileInfo(p, os.path.getsize(p) if os.path.isfile(p) else 0))
        return out

    def open(self, path: str) -> BinaryIO:
        return open(path, "rb")

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def walk(self, root: str) -> Iterator[FileInfo]:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            # A symlinked directory is listed in dirnames but not descended into by os.walk;
            # report it as a file so the reader can reject it with a reason.
            for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
                path = os.path.join(dirpath, name)
                size = os.path.getsize(path) if os.path.isfile(path) else 0
                yield FileInfo(path, size)
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]

    def is_symlink(self, path: str) -> bool:
        return os.path.islink(path)

    def link_target_inside(self, root: str, path: str) -> bool:
        """True unless ``path`` is a symlink whose target lies outside ``root`` (or dangles)."""
        if not os.path.islink(path):
            return True
        target = os.path.realpath(path)
        real_root = os.path.realpath(root)
        return os.path.exists(target) and (target == real_root or target.startswith(real_root + os.sep))


class LocalFileWriter:
    """`FileWriter` over local paths (`dataprep.manifest.write_atomic`: fsync, then rename)."""

    def write_bytes(self, path: str, data: bytes) -> None:
        from dataprep.manifest import write_atomic

        write_atomic(path, lambda f: f.write(data))

    def remove(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def is_url(path: str) -> bool:
    """True for paths with a URL scheme (``gs://b/x``, ``memfs://t/x``); the same rule as
    ``pipelines.fs.is_local``, without importing Beam."""
    return "://" in path


def join_path(base: str, *parts: str) -> str:
    """Join below ``base``: ``/`` for URLs (``gs://b/run`` -> ``gs://b/run/vocab``),
    `os.path.join` for local paths."""
    return posixpath.join(base, *parts) if is_url(base) else os.path.join(base, *parts)


def read_file_bytes(fs: FileSystem, path: str) -> bytes | None:
    """The whole content of ``path`` through ``fs``, or None when there is no such file. Opens
    first (one request on an object store) and lists only when that fails, to tell a missing
    file from an unreadable one.

    Raises:
        Exception: whatever ``fs`` raised when the file exists but cannot be read (Beam's
            filesystems raise their own types; BeamIOError is an OSError).
    """
    try:
        with fs.open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None
    except Exception:
        if not file_exists(fs, path):
            return None
        raise


def file_exists(fs: FileSystem, path: str) -> bool:
    """True when ``fs`` lists ``path``; a listing that fails counts as absent (Beam's
    filesystems raise BeamIOError on an empty match)."""
    try:
        return bool(fs.match(path))
    except OSError:
        return False


def is_compressed(path: str) -> bool:
    return path.endswith(COMPRESSED_SUFFIXES)


def strip_compression_suffix(path: str) -> str:
    """``'a/b.jsonl.gz'`` -> ``'a/b.jsonl'``."""
    for suffix in COMPRESSED_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def open_decompressed(raw: BinaryIO, path: str) -> BinaryIO:
    """Wrap ``raw`` in a streaming decompressor chosen by the suffix of ``path``.

    Truncated input raises ``EOFError`` (gzip, bz2) or ``zstandard.ZstdError`` when the
    reader reaches the cut; callers turn that into a ``truncated_input`` reject.
    """
    if path.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if path.endswith(".bz2"):
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    if path.endswith(".zst"):
        return io.BufferedReader(_ZstdReader(raw))  # type: ignore[return-value]
    return raw


class _ZstdReader(io.RawIOBase):
    """Streaming zstd decompression that, unlike ``stream_reader``, raises on a truncated frame
    (``EOFError``) instead of ending quietly. Concatenated frames are read in sequence."""

    def __init__(self, raw: BinaryIO, chunk: int = 1 << 16) -> None:
        self._raw = raw
        self._chunk = chunk
        self._dctx = zstandard.ZstdDecompressor()
        self._dobj = self._dctx.decompressobj()
        self._pending = b""
        self._in_frame = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        while not self._pending:
            data = self._raw.read(self._chunk)
            if not data:
                if self._in_frame:
                    raise EOFError("compressed zstd stream ended before the end of a frame (truncated)")
                return 0
            while data:
                self._in_frame = True
                self._pending += self._dobj.decompress(data)
                if self._dobj.eof:
                    data = self._dobj.unused_data
                    self._dobj = self._dctx.decompressobj()
                    self._in_frame = False
                else:
                    data = b""
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, zstandard.ZstdError)


def relative_to_root(path: str, root: str) -> str:
    """Path of ``path`` below ``root``, with ``/`` separators; the basename when not below it."""
    root = root.rstrip("/")
    if root and path.startswith(root + "/"):
        return path[len(root) + 1 :]
    return path.rsplit("/", 1)[-1]


def glob_root(pattern: str) -> str:
    """The longest directory prefix of a glob with no wildcard: ``'a/b/*.txt'`` -> ``'a/b'``."""
    parts = pattern.split("/")
    fixed = []
    for part in parts[:-1]:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return "/".join(fixed)
