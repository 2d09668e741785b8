"""Reading the CLI's input files: a CSV of recipients, a list of document ids.

Every problem is collected and reported at once, with its line, before anything is
sent.
"""

from __future__ import annotations

import argparse
import array
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .._errors import InvalidInputError
from .._validation import check_email

__all__ = ["SHOWN_PROBLEMS", "InputError", "check_csv", "csv_rows", "read_ids"]

SHOWN_PROBLEMS = 20  # bad rows or failed items listed before "... and N more"
_COLUMNS = {
    "name": "name",
    "email": "email",
    "externalid": "externalId",
    "external_id": "externalId",
}


class InputError(Exception):
    """A file or argument that cannot be used; the message says what and where."""


def _open_text(path: Path) -> IO[str]:
    try:
        # utf-8-sig: spreadsheets like to start their CSV exports with a BOM.
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line, row) for each data row, or (line, problem) for a row of the wrong shape."""
    with _open_text(path) as file:
        reader = csv.reader(file)
        try:
            header = next(reader, None)
            if header is None:
                raise InputError(f"{path} is empty: it needs a header row (name,email)")
            columns = _columns(path, header)
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(columns):
                    yield reader.line_num, f"{len(cells)} cells, expected {len(columns)}"
                    continue
                yield reader.line_num, dict(zip(columns, (c.strip() for c in cells), strict=True))
        except UnicodeDecodeError as exc:
            raise InputError(f"{path} is not UTF-8 text") from exc
        except csv.Error as exc:
            raise InputError(f"{path} line {reader.line_num}: {exc}") from exc


def _columns(path: Path, header: list[str]) -> list[str]:
    columns = []
    for cell in header:
        column = _COLUMNS.get(cell.strip().lower())
        if column is None:
            raise InputError(
                f"{path}: unexpected column {cell!r}; expected name, email and optionally "
                "externalId"
            )
        columns.append(column)
    missing = {"name", "email"} - set(columns)
    if missing or len(set(columns)) != len(columns):
        raise InputError(f"{path}: the header must name the columns name and email once each")
    return columns


def _row_problem(row: dict[str, str] | str, seen: dict[str, int], line: int) -> str | None:
    if isinstance(row, str):
        return row
    if not row["name"]:
        return "name is empty"
    try:
        check_email(row["email"], "email")
    except InvalidInputError:
        return f"not an email address: {row['email']!r}"
    unique = [("email", row["email"].lower())]
    if row.get("externalId"):
        unique.append(("externalId", row["externalId"]))
    for what, value in unique:
        first = seen.setdefault(f"{what}:{value}", line)
        if first != line:
            return f"duplicate {what} (also on line {first})"
    return None


def check_csv(path: Path) -> array.array[int]:
    """The line of every row, or `InputError` listing every bad row."""
    lines: array.array[int] = array.array("L")
    problems: list[str] = []
    bad = 0
    seen: dict[str, int] = {}
    for line, row in csv_rows(path):
        problem = _row_problem(row, seen, line)
        if problem is not None:
            bad += 1
            if len(problems) < SHOWN_PROBLEMS:
                problems.append(f"  line {line}: {problem}")
        lines.append(line)
    if bad:
        more = f"\n  ... and {bad - len(problems)} more" if bad > len(problems) else ""
        raise InputError(
            f"{path} has {bad} bad row{'s' if bad > 1 else ''}; nothing was sent:\n"
            + "\n".join(problems)
            + more
        )
    if not lines:
        raise InputError(f"{path} has no rows")
    return lines


def read_ids(args: argparse.Namespace) -> list[int]:
    sources: list[tuple[str, str]] = [("argument", value) for value in args.ids]
    if args.ids_file is not None:
        with _open_text(args.ids_file) as file:
            try:
                for number, text in enumerate(file, start=1):
                    value = text.split("#", 1)[0].strip()
                    if value:
                        sources.append((f"{args.ids_file} line {number}", value))
            except UnicodeDecodeError as exc:
                raise InputError(f"{args.ids_file} is not UTF-8 text") from exc
    if not sources:
        raise InputError("no document ids: give them as arguments or with --ids-file")
    ids: list[int] = []
    problems: list[str] = []
    first: dict[int, str] = {}
    for where, value in sources:
        number = int(value) if value.isascii() and value.isdigit() else 0
        if number < 1:
            problems.append(f"  {where}: not a document id: {value!r}")
        elif number in first:
            problems.append(f"  {where}: duplicate id {number} (also {first[number]})")
        else:
            first[number] = where
            ids.append(number)
    if problems:
        shown = problems[:SHOWN_PROBLEMS]
        more = (
            f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        )
        raise InputError("bad document ids; nothing was sent:\n" + "\n".join(shown) + more)
    return ids
