"""`pacta-async batch generate|send` and `pacta-async documents list`.

Input files are checked whole before anything is sent: a typo on row 4,000 must
not be discovered after 3,999 contracts went out. They are then read a second
time while sending, so a large file is never held in memory.

Exit status: 0 every item sent (or skipped as already sent), 1 some item failed or
the API refused the job, 2 bad input or configuration, 130 interrupted.
"""

from __future__ import annotations

import argparse
import array
import csv
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeAlias

import anyio

from ._batch import DEFAULT_CONCURRENCY
from ._batch_types import BatchSummary, GenerateItem, ItemResult, ItemStatus
from ._client import PactaClient
from ._errors import ConfigurationError, InvalidInputError, JournalError, PactaError
from ._progress import progress_display
from ._ratelimit import DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_SENDS_PER_MINUTE, TokenBucketLimiter
from ._validation import check_email
from .types import Document, DocumentStatus

__all__ = ["add_commands"]

_Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
_PROG = "pacta-async"
_SHOWN_PROBLEMS = 20  # bad rows or failed items listed before "... and N more"
_COLUMNS = {
    "name": "name",
    "email": "email",
    "externalid": "externalId",
    "external_id": "externalId",
}


class _InputError(Exception):
    """A file or argument that cannot be used; the message says what and where."""


def add_commands(commands: _Subparsers) -> None:
    _add_batch_commands(commands)
    _add_documents_commands(commands)


def _add_batch_commands(commands: _Subparsers) -> None:
    batch = commands.add_parser(
        "batch",
        help="send to many recipients or drafts, each exactly once",
        description="Config: PACTA_API_TOKEN and PACTA_BASE_URL, as for the client.",
    )
    batch_commands = batch.add_subparsers(metavar="COMMAND", required=True)
    generate = batch_commands.add_parser(
        "generate",
        help="send a template to every row of a CSV file",
        description=(
            "Generate and send one document from TEMPLATE_ID per row of CSV, whose header "
            "names the columns name, email and optionally externalId. The whole file is "
            "checked before anything is sent."
        ),
    )
    generate.add_argument("template_id", metavar="TEMPLATE_ID", type=int)
    generate.add_argument("csv", metavar="CSV", type=Path)
    generate.add_argument(
        "--placeholder",
        metavar="ID",
        type=int,
        help="the template recipient each row fills in (default: the template's only one)",
    )
    generate.add_argument("--title", help="each document's title (default: the template's)")
    _add_common_options(generate)
    generate.set_defaults(run=_run_generate)

    send = batch_commands.add_parser(
        "send",
        help="send DRAFT documents by id",
        description="Send DRAFT documents, given as arguments and/or in a file.",
    )
    send.add_argument("ids", metavar="ID", nargs="*", help="document ids")
    send.add_argument(
        "--ids-file",
        metavar="FILE",
        type=Path,
        help="one id per line; blank lines and # comments are ignored",
    )
    _add_common_options(send)
    send.set_defaults(run=_run_send)


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--journal",
        metavar="FILE",
        type=Path,
        help="SQLite file recording each item; rerun with it to finish an interrupted batch",
    )
    parser.add_argument(
        "--results", metavar="FILE", type=Path, help="write one CSV row per item here"
    )
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="requests in flight at once (default: %(default)s)",
    )
    parser.add_argument(
        "--requests-per-minute",
        metavar="N",
        type=float,
        default=DEFAULT_REQUESTS_PER_MINUTE,
        help="the token's general limit (default: %(default)s)",
    )
    parser.add_argument(
        "--sends-per-minute",
        metavar="N",
        type=float,
        default=DEFAULT_SENDS_PER_MINUTE,
        help="the token's send limit (default: %(default)s)",
    )
    parser.add_argument(
        "--no-email", action="store_true", help="do not email the recipients (sendEmail=false)"
    )


def _add_documents_commands(commands: _Subparsers) -> None:
    documents = commands.add_parser("documents", help="look at documents")
    documents_commands = documents.add_subparsers(metavar="COMMAND", required=True)
    list_ = documents_commands.add_parser("list", help="list documents, newest first")
    list_.add_argument("--status", choices=[status.value for status in DocumentStatus])
    list_.add_argument(
        "--limit", metavar="N", type=int, default=20, help="at most N (0: all; default: 20)"
    )
    list_.add_argument("--json", action="store_true", help="print JSON instead of a table")
    list_.set_defaults(run=_run_list)


# -- input files ------------------------------------------------------------------


def _open_text(path: Path) -> IO[str]:
    try:
        # utf-8-sig: spreadsheets like to start their CSV exports with a BOM.
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise _InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line, row) for each data row, or (line, problem) for a row of the wrong shape."""
    with _open_text(path) as file:
        reader = csv.reader(file)
        try:
            header = next(reader, None)
            if header is None:
                raise _InputError(f"{path} is empty: it needs a header row (name,email)")
            columns = _columns(path, header)
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(columns):
                    yield reader.line_num, f"{len(cells)} cells, expected {len(columns)}"
                    continue
                yield reader.line_num, dict(zip(columns, (c.strip() for c in cells), strict=True))
        except UnicodeDecodeError as exc:
            raise _InputError(f"{path} is not UTF-8 text") from exc
        except csv.Error as exc:
            raise _InputError(f"{path} line {reader.line_num}: {exc}") from exc


def _columns(path: Path, header: list[str]) -> list[str]:
    columns = []
    for cell in header:
        column = _COLUMNS.get(cell.strip().lower())
        if column is None:
            raise _InputError(
                f"{path}: unexpected column {cell!r}; expected name, email and optionally "
                "externalId"
            )
        columns.append(column)
    missing = {"name", "email"} - set(columns)
    if missing or len(set(columns)) != len(columns):
        raise _InputError(f"{path}: the header must name the columns name and email once each")
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


def _check_csv(path: Path) -> array.array[int]:
    """The line of every row, or `_InputError` listing every bad row."""
    lines: array.array[int] = array.array("L")
    problems: list[str] = []
    bad = 0
    seen: dict[str, int] = {}
    for line, row in _csv_rows(path):
        problem = _row_problem(row, seen, line)
        if problem is not None:
            bad += 1
            if len(problems) < _SHOWN_PROBLEMS:
                problems.append(f"  line {line}: {problem}")
        lines.append(line)
    if bad:
        more = f"\n  ... and {bad - len(problems)} more" if bad > len(problems) else ""
        raise _InputError(
            f"{path} has {bad} bad row{'s' if bad > 1 else ''}; nothing was sent:\n"
            + "\n".join(problems)
            + more
        )
    if not lines:
        raise _InputError(f"{path} has no rows")
    return lines


def _read_ids(args: argparse.Namespace) -> list[int]:
    sources: list[tuple[str, str]] = [("argument", value) for value in args.ids]
    if args.ids_file is not None:
        with _open_text(args.ids_file) as file:
            try:
                for number, text in enumerate(file, start=1):
                    value = text.split("#", 1)[0].strip()
                    if value:
                        sources.append((f"{args.ids_file} line {number}", value))
            except UnicodeDecodeError as exc:
                raise _InputError(f"{args.ids_file} is not UTF-8 text") from exc
    if not sources:
        raise _InputError("no document ids: give them as arguments or with --ids-file")
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
        shown = problems[:_SHOWN_PROBLEMS]
        more = (
            f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        )
        raise _InputError("bad document ids; nothing was sent:\n" + "\n".join(shown) + more)
    return ids


# -- running a batch --------------------------------------------------------------


def _client(args: argparse.Namespace) -> PactaClient:
    return PactaClient(
        rate_limiter=TokenBucketLimiter(
            requests_per_minute=args.requests_per_minute, sends_per_minute=args.sends_per_minute
        )
    )


class _Report:
    """Counts, the first failures, and the results CSV, fed one result at a time."""

    def __init__(self, results: IO[str] | None, columns: list[str]) -> None:
        self._writer = None if results is None else csv.writer(results)
        if self._writer is not None:
            self._writer.writerow(columns)
        self.failures: list[str] = []
        self.failed = 0

    def add(self, cells: list[object], label: str, result: ItemResult[Any]) -> None:
        error = "" if result.error is None else str(result.error)
        if result.status is ItemStatus.FAILED:
            self.failed += 1
            if len(self.failures) < _SHOWN_PROBLEMS:
                self.failures.append(f"  {label}: {error}")
        if self._writer is not None:
            document_id = "" if result.document_id is None else result.document_id
            self._writer.writerow([*cells, result.status.value, document_id, error])


def _run_batch(
    args: argparse.Namespace,
    total: int,
    columns: list[str],
    job: Callable[[PactaClient, _Report, Callable[[BatchSummary], None]], Awaitable[BatchSummary]],
) -> int:
    """Run `job` with a progress display, a report and a summary; returns the exit status."""
    results = None
    try:
        if args.results is not None:
            results = args.results.open("w", encoding="utf-8", newline="")
        client = _client(args)
    except OSError as exc:
        return _fail(f"cannot write {args.results}: {exc.strerror or exc}", 2)
    except ConfigurationError as exc:
        return _fail(str(exc), 2)
    report = _Report(results, columns)
    progress = progress_display(total, "sending")

    async def main() -> BatchSummary:
        async with client:
            return await job(client, report, progress.update)

    try:
        try:
            summary = anyio.run(main)
        finally:
            progress.close()
            if results is not None:
                results.close()
    except KeyboardInterrupt:
        if args.journal is None:
            return _fail("interrupted; without --journal nothing records what was sent", 130)
        return _fail(f"interrupted; rerun with --journal {args.journal} to finish", 130)
    except (InvalidInputError, JournalError, ConfigurationError, _InputError) as exc:
        return _fail(str(exc), 2)
    except PactaError as exc:
        return _fail(str(exc), 1)
    _print_summary(summary, report, args)
    return 0 if summary.ok else 1


def _print_summary(summary: BatchSummary, report: _Report, args: argparse.Namespace) -> None:
    rate = summary.done / summary.elapsed if summary.elapsed else 0.0
    print(
        f"{summary.succeeded} sent, {summary.failed} failed, {summary.skipped} skipped "
        f"(already sent) in {summary.elapsed:.1f}s, {rate:.1f}/s; batch {summary.batch_id}"
    )
    if report.failures:
        print("Failed:")
        print("\n".join(report.failures))
        if report.failed > len(report.failures):
            print(f"  ... and {report.failed - len(report.failures)} more")
    if args.results is not None:
        print(f"Results: {args.results}")
    if summary.failed and args.journal is not None:
        print(f"Rerun with --journal {args.journal} to retry the failed items only.")


def _run_generate(args: argparse.Namespace) -> int:
    try:
        lines = _check_csv(args.csv)
    except _InputError as exc:
        return _fail(str(exc), 2)

    def rows(placeholder: int) -> Iterator[GenerateItem]:
        for line, row in _csv_rows(args.csv):
            if isinstance(row, str):
                raise _InputError(f"{args.csv} changed while sending: line {line}: {row}")
            item = GenerateItem(
                recipients=[{"id": placeholder, "name": row["name"], "email": row["email"]}]
            )
            if args.title is not None:
                item["title"] = args.title
            if row.get("externalId"):
                item["external_id"] = row["externalId"]
            yield item

    async def job(
        client: PactaClient, report: _Report, progress: Callable[[BatchSummary], None]
    ) -> BatchSummary:
        placeholder = args.placeholder or await _only_placeholder(client, args.template_id)

        def on_result(result: ItemResult[GenerateItem]) -> None:
            line = lines[result.index]
            recipient = result.item["recipients"][0]
            report.add(
                [line, recipient["name"], recipient["email"], result.external_id or ""],
                f"line {line} {recipient['email']}",
                result,
            )

        return await client.batch.generate_many(
            args.template_id,
            rows(placeholder),
            send_email=not args.no_email,
            concurrency=args.concurrency,
            journal=args.journal,
            on_result=on_result,
            on_progress=progress,
        )

    columns = ["line", "name", "email", "external_id", "status", "document_id", "error"]
    return _run_batch(args, len(lines), columns, job)


async def _only_placeholder(client: PactaClient, template_id: int) -> int:
    async for template in client.templates.iter():
        if template.id != template_id:
            continue
        placeholders = [recipient.id for recipient in template.recipients]
        if len(placeholders) == 1:
            return placeholders[0]
        raise _InputError(
            f"template {template_id} has {len(placeholders)} recipients "
            f"({', '.join(map(str, placeholders)) or 'none'}); choose one with --placeholder"
        )
    raise _InputError(f"no template {template_id} in this team")


def _run_send(args: argparse.Namespace) -> int:
    try:
        ids = _read_ids(args)
    except _InputError as exc:
        return _fail(str(exc), 2)

    async def job(
        client: PactaClient, report: _Report, progress: Callable[[BatchSummary], None]
    ) -> BatchSummary:
        def on_result(result: ItemResult[int]) -> None:
            report.add([], f"document {result.item}", result)

        return await client.batch.send_many(
            ids,
            send_email=not args.no_email,
            concurrency=args.concurrency,
            journal=args.journal,
            on_result=on_result,
            on_progress=progress,
        )

    return _run_batch(args, len(ids), ["status", "document_id", "error"], job)


# -- documents list ---------------------------------------------------------------


def _run_list(args: argparse.Namespace) -> int:
    if args.limit < 0:
        return _fail("--limit must be 0 (all) or more", 2)

    async def main() -> list[Document]:
        async with PactaClient() as client:
            return await _list_documents(client, args.status, args.limit)

    try:
        documents = anyio.run(main)
    except ConfigurationError as exc:
        return _fail(str(exc), 2)
    except PactaError as exc:
        return _fail(str(exc), 1)
    if args.json:
        json.dump([document.to_dict() for document in documents], sys.stdout, indent=2)
        print()
    else:
        _print_table(documents)
    return 0


async def _list_documents(client: PactaClient, status: str | None, limit: int) -> list[Document]:
    documents: list[Document] = []
    page = 1
    while True:
        listing = await client.documents.list(
            page=page, per_page=min(limit or 100, 100), status=status
        )
        for document in listing.documents:
            if documents and document.id >= documents[-1].id:
                continue  # pushed onto this page by a newer document
            documents.append(document)
            if len(documents) == limit:
                return documents
        if page >= listing.total_pages:
            return documents
        page += 1


def _print_table(documents: list[Document]) -> None:
    rows = [["ID", "STATUS", "CREATED", "EXTERNAL ID", "TITLE"]]
    for document in documents:
        rows.append(
            [
                str(document.id),
                str(document.status),
                document.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                document.external_id or "",
                document.title,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))


def _fail(message: str, status: int) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return status
