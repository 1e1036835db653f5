"""Manifests and atomic writes.

A stage is complete exactly when its manifest exists: outputs are written under a temporary
name and renamed into place, and the manifest (counts, checksums, recipe fingerprint) is written
last, the same way. A killed run therefore never leaves a half-written file that looks complete,
and a rerun can trust any manifest it finds.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any, BinaryIO, Callable

from dataprep.errors import FormatError

CHUNK = 1 << 20


def sha256_stream(f: BinaryIO) -> str:
    """Hex SHA-256 of a binary stream, read in 1 MiB chunks."""
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(CHUNK), b""):
        h.update(chunk)
    return h.hexdigest()


def sha256_file(path: str) -> str:
    """Hex SHA-256 of a local file."""
    with open(path, "rb") as f:
        return sha256_stream(f)


def write_atomic(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Write a local file by calling ``write(f)`` on a temporary file beside ``path``, then
    renaming it into place (atomic on POSIX). A failure leaves no file at ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the permissions a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def dumps_json(data: Any) -> bytes:
    """Canonical, human-readable JSON (sorted keys, 2-space indent, trailing newline)."""
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_json_atomic(path: str, data: Any) -> None:
    """Write ``data`` as canonical JSON to ``path`` atomically."""
    blob = dumps_json(data)
    write_atomic(path, lambda f: f.write(blob))


def read_manifest(path: str, kind: str, missing: str = "no manifest (the stage has not completed here)") -> dict[str, Any]:
    """Load a manifest and check its ``format`` field is ``kind`` (e.g. ``"dataprep-build v1"``).

    Raises `FormatError` when the file is missing (with the ``missing`` explanation), unreadable
    or of another format/version.
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FormatError(f"{path}: {missing}") from None
    except (OSError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: unreadable manifest: {e}") from None
    if data.get("format") != kind:
        raise FormatError(f"{path}: expected format '{kind}', found {data.get('format')!r}")
    return data
