"""The `pacta-async` command line.

Each command group is a function that adds its parsers to the top-level subparsers
and sets a ``run`` default: a callable taking the parsed arguments and returning the
exit status. A command group from another module joins by being listed in
`_COMMANDS`; `main` only dispatches.

Exit status: 0 success, 1 the command's negative answer (``spec diff``: breaking
changes found), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from ._cli_batch import add_commands as _add_batch_commands
from ._specdiff import InvalidSpecError, diff_specs

__all__ = ["main"]

_Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
_PROG = "pacta-async"


class _InputError(Exception):
    """An input file that cannot be used; the message names it."""


def _add_spec_commands(commands: _Subparsers) -> None:
    spec = commands.add_parser("spec", help="work with Pacta's OpenAPI spec")
    spec_commands = spec.add_subparsers(metavar="COMMAND", required=True)
    diff = spec_commands.add_parser(
        "diff",
        help="classify the changes between two specs",
        description=(
            "Compare two OpenAPI 3.x documents (JSON) and report breaking, additive and "
            "info changes. Exits 1 if any change is breaking, 2 on bad input."
        ),
    )
    diff.add_argument("old", metavar="OLD", help="the current spec, a JSON file or - for stdin")
    diff.add_argument("new", metavar="NEW", help="the candidate spec, a JSON file or - for stdin")
    diff.add_argument("--markdown", metavar="FILE", type=Path, help="also write a PR-body report")
    diff.add_argument("--json", action="store_true", help="print JSON instead of text")
    diff.set_defaults(run=_spec_diff)


_COMMANDS: tuple[Callable[[_Subparsers], None], ...] = (_add_spec_commands, _add_batch_commands)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting."""
    parser = argparse.ArgumentParser(prog=_PROG, description="Tools for the Pacta API.")
    commands = parser.add_subparsers(metavar="COMMAND", required=True)
    for add_commands in _COMMANDS:
        add_commands(commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # usage errors and --help
        return int(exit_.code or 0)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


def _spec_diff(args: argparse.Namespace) -> int:
    if args.old == "-" and args.new == "-":
        return _fail("only one of OLD and NEW can be - (stdin)")
    try:
        diff = diff_specs(_load_json(args.old), _load_json(args.new))
    except (_InputError, InvalidSpecError) as exc:
        return _fail(str(exc))
    if args.markdown is not None:
        try:
            args.markdown.write_text(diff.to_markdown(), encoding="utf-8")
        except OSError as exc:
            return _fail(f"cannot write {args.markdown}: {exc.strerror or exc}")
    sys.stdout.write(diff.to_json() + "\n" if args.json else diff.to_text())
    return 1 if diff.breaking else 0


def _load_json(name: str) -> Any:
    label = "stdin" if name == "-" else name
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise _InputError(f"cannot read {label}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _InputError(f"cannot read {label}: not UTF-8 text") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _InputError(f"{label} is not JSON: {exc}") from exc


def _fail(message: str) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return 2
