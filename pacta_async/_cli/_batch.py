"""`pacta-async batch generate|send`: a CSV or a list of ids, sent exactly once.

Input files are checked whole before anything is sent: a typo on row 4,000 must
not be discovered after 3,999 contracts went out. They are then read a second
time while sending, so a large file is never held in memory.

Each result goes to the results CSV as it arrives, flushed, with its input's row, so
a kill loses nothing already reported. SIGINT and SIGTERM let in-flight items finish
(for a grace period) before the batch stops; see `_stop`.

Exit status: 0 every item sent (or skipped as already sent), 1 some item failed, the
API refused the job or Pacta stayed unreachable, 2 bad input or configuration, 130
interrupted (SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import csv
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import anyio

from .._batch import (
    DEFAULT_CONCURRENCY,
    DEFAULT_UNREACHABLE_TIMEOUT,
    BatchSummary,
    ItemResult,
    ItemStatus,
    read_like_a_batch,
)
from .._client import PactaClient
from .._clock import Clock, SystemClock
from .._errors import (
    ConfigurationError,
    InvalidInputError,
    JournalError,
    PactaError,
    ServerUnreachableError,
)
from .._params import GenerateItem
from .._ratelimit import DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_SENDS_PER_MINUTE, TokenBucketLimiter
from ..types import Template
from ._inputs import SHOWN_PROBLEMS, InputError, check_csv, csv_rows, read_ids
from ._output import PROG, Subparsers, add_timeout_option, fail, seconds_or_zero
from ._progress import progress_display
from ._status import add_status
from ._stop import DEFAULT_GRACE, Stopper

__all__ = ["add_commands"]

ProgressCallback = Callable[[BatchSummary], None]


def add_commands(commands: Subparsers) -> None:
    batch = commands.add_parser(
        "batch",
        help="send to many recipients or drafts, each exactly once",
        description="Config: PACTA_API_TOKEN and PACTA_BASE_URL, as for the client.",
    )
    # Unlike other commands, a batch tells a stop request (SIGTERM) from Ctrl-C.
    batch.set_defaults(sigterm_status=_TERMINATED)
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
    add_status(batch_commands)


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", help="the API token (default: $PACTA_API_TOKEN)")
    parser.add_argument("--base-url", help="the API's base URL (default: $PACTA_BASE_URL)")
    parser.add_argument(
        "--batch-id",
        help="names the batch; each row's externalId derives from it and the row's content "
        "(default: from the input file's name)",
    )
    parser.add_argument(
        "--settle-window",
        metavar="SECONDS",
        type=float,
        help="how long Pacta may still process a request whose answer was lost; such an "
        "item is repeated only after it (default: the timeout plus 10s)",
    )
    parser.add_argument(
        "--unreachable-timeout",
        metavar="SECONDS",
        type=seconds_or_zero,
        default=DEFAULT_UNREACHABLE_TIMEOUT,
        help="stop (resumably) once no request has reached Pacta for this long "
        "(default: %(default)g)",
    )
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
    parser.add_argument(
        "--grace",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_GRACE,
        help="on SIGINT or SIGTERM, how long the items in flight may take to finish "
        "before they are cancelled (default: %(default)s)",
    )
    add_timeout_option(parser)


_INTERRUPTED, _TERMINATED = 130, 143  # 128 + the signal's number, as shells report it
_STATUS = {signal.SIGINT: _INTERRUPTED, signal.SIGTERM: _TERMINATED}
# What the client and the template lookup wait by; tests put a fake clock here.
_CLOCK: Clock = SystemClock()


# -- running a batch --------------------------------------------------------------


def _client(args: argparse.Namespace) -> PactaClient:
    # --timeout bounds each call in all, so each attempt too (and with it the settle window).
    timeout = {} if args.timeout is None else {"timeout": args.timeout}
    return PactaClient(
        args.token,
        base_url=args.base_url,
        rate_limiter=TokenBucketLimiter(
            requests_per_minute=args.requests_per_minute,
            sends_per_minute=args.sends_per_minute,
            clock=_CLOCK,
        ),
        total_timeout=args.timeout,
        clock=_CLOCK,
        **timeout,
    )


def _batch_options(args: argparse.Namespace, source: Path | None) -> dict[str, Any]:
    batch_id = args.batch_id
    if batch_id is None and source is not None:
        batch_id = source.stem or None
    return {
        "batch_id": batch_id,
        "settle_window": args.settle_window,
        "unreachable_timeout": args.unreachable_timeout,
    }


class _Report:
    """Counts, the first failures, and the results CSV, fed one result at a time.

    Each row is flushed as it is written: a killed run keeps every result it reported.
    """

    def __init__(self, results: IO[str] | None, columns: list[str], stopper: Stopper) -> None:
        self._results = results
        self._writer = None if results is None else csv.writer(results)
        self._stopper = stopper
        self._row(columns)
        self.failures: list[str] = []
        self.failed = 0

    def add(self, cells: list[object], label: str, result: ItemResult[Any]) -> None:
        self._stopper.finished()
        error = "" if result.error is None else str(result.error)
        if result.status is ItemStatus.FAILED:
            self.failed += 1
            if len(self.failures) < SHOWN_PROBLEMS:
                self.failures.append(f"  {label}: {error}")
        document_id = "" if result.document_id is None else result.document_id
        self._row([*cells, result.status.value, document_id, error])

    def _row(self, cells: Sequence[object]) -> None:
        if self._writer is not None and self._results is not None:
            self._writer.writerow(cells)
            self._results.flush()


def _run_batch(
    args: argparse.Namespace,
    total: int,
    columns: list[str],
    job: Callable[[PactaClient, _Report, Stopper, ProgressCallback], Awaitable[BatchSummary]],
) -> int:
    """Run `job` with a progress display, a report and a summary; returns the exit status."""
    if not args.grace >= 0:
        return fail(f"--grace must be a number of seconds >= 0, got {args.grace}", 2)
    results = None
    try:
        if args.results is not None:
            results = args.results.open("w", encoding="utf-8", newline="")
        client = _client(args)
    except OSError as exc:
        return fail(f"cannot write {args.results}: {exc.strerror or exc}", 2)
    except ConfigurationError as exc:
        return fail(str(exc), 2)
    stopper = Stopper(args.concurrency, args.grace)
    report = _Report(results, columns, stopper)
    _show_notices()
    progress = progress_display(total, "sending")
    latest: list[BatchSummary] = []  # the totals so far, for a batch stopped part-way

    def on_progress(summary: BatchSummary) -> None:
        latest[:] = [summary]
        progress.update(summary)

    async def main() -> BatchSummary | None:
        async with client:
            return await stopper.run(lambda: job(client, report, stopper, on_progress))

    try:
        try:
            summary = anyio.run(main)
        finally:
            progress.close()
            if results is not None:
                results.close()
    except (InvalidInputError, JournalError, ConfigurationError, InputError) as exc:
        return fail(str(exc), 2)
    except ServerUnreachableError as exc:
        if latest:
            _print_summary(latest[0], report, args)
        return fail(f"{exc}; {_rerun_hint(args)}", 1)
    except PactaError as exc:
        return fail(str(exc), 1)
    if stopper.signal is None and summary is not None:
        _print_summary(summary, report, args)
        return 0 if summary.ok else 1
    return _stopped(stopper, summary or (latest[0] if latest else None), report, args)


def _stopped(
    stopper: Stopper, summary: BatchSummary | None, report: _Report, args: argparse.Namespace
) -> int:
    """The summary of a batch a signal stopped, and how to finish it."""
    signum = stopper.signal or signal.SIGINT
    if summary is not None:
        _print_summary(summary, report, args)
    else:
        print("Stopped before any item finished.")
    if stopper.cancelled and stopper.in_flight:
        print(
            f"{stopper.in_flight} items were cancelled in flight; a rerun checks first"
            " the ones that may have reached Pacta, and sends the others."
        )
    return fail(f"{signum.name}: interrupted; {_rerun_hint(args)}", _STATUS[signum])


def _rerun_hint(args: argparse.Namespace) -> str:
    if args.journal is None:
        return "without --journal, a rerun checks Pacta first for what was sent"
    return f"rerun with --journal {args.journal} to finish"


def _show_notices() -> None:
    """The batch's notices (checking the server, duplicates found) as stderr lines."""
    notices = logging.getLogger("pacta_async.batch")
    if not notices.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
        notices.addHandler(handler)
        notices.setLevel(logging.WARNING)


def _print_summary(summary: BatchSummary, report: _Report, args: argparse.Namespace) -> None:
    rate = summary.done / summary.elapsed if summary.elapsed else 0.0
    print(
        f"{summary.sent} sent, {summary.failed} failed, {summary.skipped} skipped "
        f"(already sent) in {summary.elapsed:.1f}s, {rate:.1f}/s; batch {summary.batch_id}"
    )
    if report.failures:
        print("Failed:")
        print("\n".join(report.failures))
        if report.failed > len(report.failures):
            print(f"  ... and {report.failed - len(report.failures)} more")
    for duplicate in summary.duplicates:
        ids = ", ".join(map(str, duplicate.document_ids))
        print(
            f"Sent twice (Pacta processed a lost request late): item {duplicate.index + 1} "
            f"externalId {duplicate.external_id}: documents {ids}"
        )
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
        client: PactaClient, report: _Report, stopper: Stopper, progress: ProgressCallback
    ) -> BatchSummary:
        placeholder = args.placeholder or await _only_placeholder(
            client, args.template_id, args.unreachable_timeout
        )

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
            stopper.gate(rows(placeholder)),
            send_email=not args.no_email,
            concurrency=args.concurrency,
            journal=args.journal,
            on_result=on_result,
            on_progress=progress,
            **_batch_options(args, args.csv),
        )

    columns = ["line", "name", "email", "external_id", "status", "document_id", "error"]
    return _run_batch(args, len(lines), columns, job)


async def _only_placeholder(
    client: PactaClient, template_id: int, unreachable_timeout: float
) -> int:
    """The template's only recipient placeholder.

    Read under the batch's own rules (`read_like_a_batch`): what the batch would ride
    out must not end the run before it starts. The API has no GET for one template,
    so the list is read until the template appears.
    """

    async def matching() -> list[Template]:  # empty: no such template
        async for template in client.templates.iter():
            if template.id == template_id:
                return [template]
        return []

    found = await read_like_a_batch(
        client.documents,
        client.templates,
        _CLOCK,
        matching,
        unreachable_timeout=unreachable_timeout,
    )
    if not found:
        raise InputError(f"no template {template_id} in this team")
    placeholders = [recipient.id for recipient in found[0].recipients]
    if len(placeholders) != 1:
        raise InputError(
            f"template {template_id} has {len(placeholders)} recipients "
            f"({', '.join(map(str, placeholders)) or 'none'}); choose one with --placeholder"
        )
    return placeholders[0]


def _run_send(args: argparse.Namespace) -> int:
    try:
        ids = read_ids(args)
    except InputError as exc:
        return fail(str(exc), 2)

    async def job(
        client: PactaClient, report: _Report, stopper: Stopper, progress: ProgressCallback
    ) -> BatchSummary:
        def on_result(result: ItemResult[int]) -> None:
            given = ids[result.index]
            report.add([given.source, given.row, given.id], f"document {given.id}", result)

        return await client.batch.send_many(
            stopper.gate(given.id for given in ids),
            send_email=not args.no_email,
            concurrency=args.concurrency,
            journal=args.journal,
            on_result=on_result,
            on_progress=progress,
            **_batch_options(args, args.ids_file),
        )

    columns = ["source", "row", "id", "status", "document_id", "error"]
    return _run_batch(args, len(ids), columns, job)
