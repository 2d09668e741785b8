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
from typing import IO, NamedTuple

from .._errors import InvalidInputError
from .._validation import check_email

__all__ = ["SHOWN_PROBLEMS", "InputError", "InputId", "check_csv", "csv_rows", "read_ids"]

SHOWN_PROBLEMS = 20  # bad rows or failed items listed before "... and N more"
_COLUMNS = {
    "name": "name",
    "email": "email",
    "externalid": "externalId",
    "external_id": "externalId",
}
# Spreadsheets in locales with a decimal comma export `;`-separated "CSV"; some tools, tabs.
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


class InputError(Exception):
    """A file or argument that cannot be used; the message says what and where."""


def _open_text(path: Path) -> IO[str]:
    try:
        # utf-8-sig: spreadsheets like to start their CSV exports with a BOM.
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line, row) for each data row, or (line, problem) for a row of the wrong shape.

    The line is where the row starts (a quoted cell may span lines), as a spreadsheet
    numbers it. The delimiter is the one the header line uses.
    """
    with _open_text(path) as file:
        try:
            first = file.readline()
            if not first.strip():
                raise InputError(f"{path} is empty: it needs a header row (name,email)")
            file.seek(0)
            reader = csv.reader(file, delimiter=_delimiter(path, first))
            columns = _columns(path, next(reader))
            start = reader.line_num + 1
            for cells in reader:
                line, start = start, reader.line_num + 1
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(columns):
                    yield line, f"{len(cells)} cells, expected {len(columns)}"
                    continue
                yield line, dict(zip(columns, (c.strip() for c in cells), strict=True))
        except UnicodeDecodeError as exc:
            raise InputError(f"{path} is not UTF-8 text") from exc
        except csv.Error as exc:
            raise InputError(f"{path} line {reader.line_num}: {exc}") from exc


def _delimiter(path: Path, header: str) -> str:
    """The one of `,` `;` tab that separates the header's column names.

    Only the header is looked at: its cells are known words, while data cells may hold
    any of these characters.
    """
    found = {delimiter for delimiter in _DELIMITERS if delimiter in header}
    if len(found) == 1:
        return found.pop()
    if not found:
        return ","  # one column: `_columns` says which are missing
    names = " and ".join(f"{_DELIMITERS[d]} ({d!r})" for d in _DELIMITERS if d in found)
    raise InputError(
        f"{path}: the header line holds both {names}; separate the columns with "
        "one of comma, semicolon or tab"
    )


def _columns(path: Path, header: list[str]) -> list[str]:
    columns = []
    for cell in header:
        column = _COLUMNS.get(cell.strip().lower())
        if column is None:
            raise InputError(
                f"{path}: unexpected column {cell!r}; expected name, email and optionally "
                f"externalId{_separator_hint(cell)}"
            )
        columns.append(column)
    missing = {"name", "email"} - set(columns)
    if missing or len(set(columns)) != len(columns):
        raise InputError(f"{path}: the header must name the columns name and email once each")
    return columns


def _separator_hint(cell: str) -> str:
    """For a header like ``name|email``: which character seems to separate it."""
    for char in dict.fromkeys(cell):
        if char.isalnum() or char in "_ ":
            continue
        parts = [part.strip().lower() for part in cell.split(char)]
        if len(parts) > 1 and all(part in _COLUMNS for part in parts):
            return f"; the columns seem to be separated by {char!r}: use comma, semicolon or tab"
    return ""


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


class InputId(NamedTuple):
    """A document id and where it was given: ("argument", its position) or (the file, its
    line), so each result can be traced back to its input."""

    source: str
    row: int
    id: int


def read_ids(args: argparse.Namespace) -> list[InputId]:
    # (source, row, value, where to say it is in a message)
    sources: list[tuple[str, int, str, str]] = [
        ("argument", position, value, "argument")
        for position, value in enumerate(args.ids, start=1)
    ]
    if args.ids_file is not None:
        with _open_text(args.ids_file) as file:
            try:
                for number, text in enumerate(file, start=1):
                    value = text.split("#", 1)[0].strip()
                    if value:
                        where = f"{args.ids_file} line {number}"
                        sources.append((str(args.ids_file), number, value, where))
            except UnicodeDecodeError as exc:
                raise InputError(f"{args.ids_file} is not UTF-8 text") from exc
    if not sources:
        raise InputError("no document ids: give them as arguments or with --ids-file")
    ids: list[InputId] = []
    problems: list[str] = []
    first: dict[int, str] = {}
    for source, row, value, where in sources:
        number = int(value) if value.isascii() and value.isdigit() else 0
        if number < 1:
            problems.append(f"  {where}: not a document id: {value!r}")
        elif number in first:
            problems.append(f"  {where}: duplicate id {number} (also {first[number]})")
        else:
            first[number] = where
            ids.append(InputId(source, row, number))
    if problems:
        shown = problems[:SHOWN_PROBLEMS]
        more = (
            f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        )
        raise InputError("bad document ids; nothing was sent:\n" + "\n".join(shown) + more)
    return ids
