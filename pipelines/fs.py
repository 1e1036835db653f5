"""`dataprep.fs.FileSystem` over Beam's filesystems, so recipes may name gs://, s3://, hdfs://
paths (with the matching Beam extra installed) and local paths alike."""

from __future__ import annotations

import os
import posixpath
import shutil
from typing import BinaryIO, Iterator

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from dataprep.fs import FileInfo, LocalFileSystem, LocalFileWriter, is_url
from dataprep.manifest import write_atomic

_local = LocalFileSystem()


def is_local(path: str) -> bool:
    """True for paths without a URL scheme (handled by the local filesystem)."""
    return not is_url(path)


class BeamFileSystem:
    """Local paths go through `LocalFileSystem` (which knows symlinks); others through Beam."""

    def match(self, pattern: str) -> list[FileInfo]:
        if is_local(pattern):
            return _local.match(pattern)
        results = FileSystems.match([pattern])[0].metadata_list
        return sorted(FileInfo(m.path, m.size_in_bytes) for m in results)

    def open(self, path: str) -> BinaryIO:
        # Decompression is ours (dataprep.fs.open_decompressed), so open raw bytes.
        return _local.open(path) if is_local(path) else open_file(path)

    def is_dir(self, path: str) -> bool:
        if is_local(path):
            return _local.is_dir(path)
        return path.endswith("/")

    def walk(self, root: str) -> Iterator[FileInfo]:
        if is_local(root):
            yield from _local.walk(root)
            return
        yield from self.match(posixpath.join(root.rstrip("/"), "**"))

    def is_symlink(self, path: str) -> bool:
        # Object stores have no symlinks.
        return _local.is_symlink(path) if is_local(path) else False

    def link_target_inside(self, root: str, path: str) -> bool:
        # Object stores have no symlinks.
        return _local.link_target_inside(root, path) if is_local(root) else True


def create_file(path: str) -> BinaryIO:
    """A new file for writing at ``path`` on any Beam filesystem (local folders are created)."""
    if is_local(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return open(path, "wb")
    return FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)


def open_file(path: str) -> BinaryIO:
    """An existing file for reading, raw bytes (seekable), on any Beam filesystem."""
    if is_local(path):
        return open(path, "rb")
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def read_bytes(path: str) -> bytes:
    """The content of a file on any Beam filesystem."""
    with open_file(path) as f:
        return f.read()


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` on any Beam filesystem: a temporary name, then a rename, so a
    reader never sees a partial file under the final name. Rewriting identical bytes is safe
    (a retried bundle writes the same content)."""
    if is_local(path):
        write_atomic(path, lambda f: f.write(data))
        return
    directory, name = posixpath.split(path)
    tmp = f"{directory}/.tmp-{name}"
    with create_file(tmp) as f:
        f.write(data)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


class BeamFileWriter:
    """`dataprep.fs.FileWriter` on every Beam filesystem (local paths included): atomic writes
    by `write_bytes_atomic` (temporary name, then rename)."""

    def write_bytes(self, path: str, data: bytes) -> None:
        write_bytes_atomic(path, data)

    def remove(self, path: str) -> None:
        if is_local(path):
            LocalFileWriter().remove(path)
        elif FileSystems.exists(path):
            FileSystems.delete([path])


def remove_tree(path: str) -> None:
    """Delete a folder (or object prefix) and everything below it, if it exists."""
    if is_local(path):
        shutil.rmtree(path, ignore_errors=True)
        return
    if FileSystems.exists(path):
        FileSystems.delete([path])


def join(base: str, *parts: str) -> str:
    """Join path parts on the base's filesystem."""
    return os.path.join(base, *parts) if is_local(base) else FileSystems.join(base, *parts)
