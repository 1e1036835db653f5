"""The ``dataprep`` command: a thin click group whose subcommands are plugins.

Subcommands are registered as ``dataprep.commands`` entry points (see ``setup.py``) and imported
only when used or listed, so the core imports neither ``pipelines`` nor ``vocab`` and
``dataprep --help`` starts without loading Beam. Each command loads the recipe, builds its config
and calls one library function; `DataprepError`s become a one-line message and their exit code
(2 for recipe mistakes).
"""

from __future__ import annotations

import functools
import sys
from importlib.metadata import entry_points
from typing import Any, Callable, Sequence

import click

from dataprep import __version__
from dataprep.errors import DataprepError

ENTRY_POINT_GROUP = "dataprep.commands"


def _registered() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


class PluginGroup(click.Group):
    """A click group that finds its commands through entry points, loading them lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_registered()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is not None:
            return cmd
        ep = _registered().get(name)
        return ep.load() if ep is not None else None


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for command functions: a `DataprepError` prints ``error: ...`` to stderr and
    exits with the error's code instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DataprepError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)

    return wrapper


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (numbers right-aligned) for end-of-run summaries.

    >>> print(format_table(["source", "kept"], [["web", 3]]))
    source  kept
    ------  ----
    web        3
    """
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(r[i], (int, float)) for r in rows) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(r, widths, numeric)).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in cells[1:])
    return "\n".join(out)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dataprep")
def main() -> None:
    """Build a PaLM-style pretraining corpus and tokenizer on Apache Beam.

    Typical flow: `dataprep build RECIPE --out DIR`, then `dataprep vocab train`, then
    `dataprep shards`; or all three with `dataprep run RECIPE --out DIR`.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
