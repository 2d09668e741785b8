"""What every CLI command shares: the program name, error lines and tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TypeAlias

__all__ = ["PROG", "Subparsers", "add_timeout_option", "fail", "print_table", "seconds_or_zero"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
PROG = "pacta-async"


def _seconds(text: str) -> float:
    value = float(text)
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def seconds_or_zero(text: str) -> float:
    value = float(text)
    if not value >= 0:  # NaN too
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text!r}")
    return value


def add_timeout_option(parser: argparse.ArgumentParser) -> None:
    """`--timeout`: each API call's total budget, pacing, retries and waits included."""
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        help="give up on an API call after this long in all, waiting for the rate "
        "limit and retries included (default: no limit)",
    )


def fail(message: str, status: int) -> int:
    """Print one `pacta-async: error: ...` line; returns the exit status to use."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell; the last column is left ragged."""
    table = [list(header), *map(list, rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
