"""`pacta-async batch generate|send`: a CSV or a list of ids, sent exactly once.

Input files are checked whole before anything is sent: a typo on row 4,000 must
not be discovered after 3,999 contracts went out. They are then read a second
time while sending, so a large file is never held in memory.

Exit status: 0 every item sent (or skipped as already sent), 1 some item failed or
the API refused the job, 2 bad input or configuration, 130 interrupted.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Any

import anyio

from .._batch import DEFAULT_CONCURRENCY, BatchSummary, ItemResult, ItemStatus
from .._client import PactaClient
from .._errors import ConfigurationError, InvalidInputError, JournalError, PactaError
from .._params import GenerateItem
from .._ratelimit import DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_SENDS_PER_MINUTE, TokenBucketLimiter
from ._inputs import SHOWN_PROBLEMS, InputError, check_csv, csv_rows, read_ids
from ._output import Subparsers, add_timeout_option, fail
from ._progress import progress_display

__all__ = ["add_commands"]


def add_commands(commands: Subparsers) -> None:
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
    add_timeout_option(parser)


# -- running a batch --------------------------------------------------------------


def _client(args: argparse.Namespace) -> PactaClient:
    return PactaClient(
        rate_limiter=TokenBucketLimiter(
            requests_per_minute=args.requests_per_minute, sends_per_minute=args.sends_per_minute
        ),
        total_timeout=args.timeout,
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
            if len(self.failures) < SHOWN_PROBLEMS:
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
        return fail(f"cannot write {args.results}: {exc.strerror or exc}", 2)
    except ConfigurationError as exc:
        return fail(str(exc), 2)
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
            return fail("interrupted; without --journal nothing records what was sent", 130)
        return fail(f"interrupted; rerun with --journal {args.journal} to finish", 130)
    except (InvalidInputError, JournalError, ConfigurationError, InputError) as exc:
        return fail(str(exc), 2)
    except PactaError as exc:
        return fail(str(exc), 1)
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
        lines = check_csv(args.csv)
    except InputError as exc:
        return fail(str(exc), 2)

    def rows(placeholder: int) -> Iterator[GenerateItem]:
        for line, row in csv_rows(args.csv):
            if isinstance(row, str):
                raise InputError(f"{args.csv} changed while sending: line {line}: {row}")
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
        raise InputError(
            f"template {template_id} has {len(placeholders)} recipients "
            f"({', '.join(map(str, placeholders)) or 'none'}); choose one with --placeholder"
        )
    raise InputError(f"no template {template_id} in this team")


def _run_send(args: argparse.Namespace) -> int:
    try:
        ids = read_ids(args)
    except InputError as exc:
        return fail(str(exc), 2)

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
