"""The `pacta-async` command line.

Each command group is a module with an `add_commands` function that adds its parsers
to the top-level subparsers and sets a ``run`` default: a callable taking the parsed
arguments and returning the exit status. `main` only dispatches.
"""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Callable, Sequence

from . import _batch, _documents
from ._output import PROG, Subparsers

__all__ = ["main"]

_COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    _batch.add_commands,
    _documents.add_commands,
)


def _version() -> str:
    try:
        return importlib.metadata.version("pacta-async")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting."""
    parser = argparse.ArgumentParser(prog=PROG, description="Tools for the Pacta API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(metavar="COMMAND", required=True)
    for add_commands in _COMMANDS:
        add_commands(commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # usage errors and --help
        return int(exit_.code or 0)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)
