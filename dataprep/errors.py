"""Typed errors. Every error a user can cause derives from `DataprepError`.

The hierarchy follows Dolma's: configuration mistakes are caught before anything runs
(`RecipeError`, exit code 2); a bad input record is a `SourceFormatError`, which readers turn
into a counted reject rather than a crash; `StageError` is a failed stage whose output is left
incomplete (and is never marked complete).
"""

from __future__ import annotations


class DataprepError(Exception):
    """Root of all dataprep errors."""

    exit_code = 1


class RecipeError(DataprepError):
    """The recipe (or a command's arguments) is invalid. Raised before any pipeline starts.

    The message says which key, what was expected, what was found and, where one exists, the
    closest valid name.
    """

    exit_code = 2

    def __init__(
        self,
        key: str,
        expected: str,
        found: object = None,
        *,
        suggestion: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.key = key
        self.expected = expected
        self.found = found
        self.suggestion = suggestion
        self.hint = hint
        parts = [f"recipe key '{key}': expected {expected}"]
        if found is not None:
            parts.append(f"found {found!r}")
        msg = ", ".join(parts)
        if suggestion:
            msg += f"; did you mean '{suggestion}'?"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class SourceFormatError(DataprepError):
    """One input record is malformed. Carries the file and position so it can be rejected."""

    def __init__(self, reason: str, path: str, position: object, detail: str = "") -> None:
        self.reason = reason
        self.path = path
        self.position = position
        self.detail = detail
        super().__init__(f"{path} at {position}: {reason}" + (f": {detail}" if detail else ""))


class StageError(DataprepError):
    """A stage could not complete; its output is left unmarked (no manifest)."""


class FormatError(DataprepError):
    """A file written by dataprep (manifest, model, shard) is missing, corrupt or of another version."""
