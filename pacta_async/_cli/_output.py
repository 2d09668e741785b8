"""What every CLI command shares: the program name, error lines and tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TypeAlias

__all__ = ["PROG", "Subparsers", "fail", "print_table"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
PROG = "pacta-async"


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
