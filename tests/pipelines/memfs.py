"""A dict-backed Beam filesystem for ``memfs://`` paths: an object store without directories, in
this process's memory (the in-process runner shares it), for testing non-local outputs."""

from __future__ import annotations

import io
import posixpath

from apache_beam.io.filesystem import BeamIOError, CompressionTypes, FileMetadata, FileSystem

FILES: dict[str, bytes] = {}


class _Writer(io.BytesIO):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def close(self) -> None:
        FILES[self._path] = self.getvalue()
        super().close()


class MemoryFileSystem(FileSystem):
    """Objects live in `FILES`; a 'folder' is a key prefix, as on GCS or S3."""

    @classmethod
    def scheme(cls) -> str:
        return "memfs"

    def join(self, basepath: str, *paths: str) -> str:
        return posixpath.join(basepath, *paths)

    def split(self, path: str) -> tuple[str, str]:
        return posixpath.split(path)

    def mkdirs(self, path: str) -> None:
        pass

    def has_dirs(self) -> bool:
        return False

    def _list(self, dir_or_prefix: str):
        for path, data in sorted(FILES.items()):
            if path.startswith(dir_or_prefix):
                yield FileMetadata(path, len(data))

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        return _Writer(path)

    def open(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        if path not in FILES:
            raise BeamIOError(f"no such object {path}")
        return io.BytesIO(FILES[path])

    def copy(self, source_file_names, destination_file_names):
        for s, d in zip(source_file_names, destination_file_names):
            FILES[d] = FILES[s]

    def rename(self, source_file_names, destination_file_names):
        for s, d in zip(source_file_names, destination_file_names):
            FILES[d] = FILES.pop(s)

    def exists(self, path: str) -> bool:
        return path in FILES or any(p.startswith(path.rstrip("/") + "/") for p in FILES)

    def size(self, path: str) -> int:
        return len(FILES[path])

    def last_updated(self, path: str) -> float:
        return 0.0

    def checksum(self, path: str) -> str:
        return str(len(FILES[path]))

    def metadata(self, path: str) -> FileMetadata:
        return FileMetadata(path, len(FILES[path]))

    def delete(self, paths) -> None:
        for path in paths:
            prefix = path.rstrip("/") + "/"
            for p in [p for p in FILES if p == path or p.startswith(prefix)]:
                del FILES[p]
