"""`pacta-async documents export`: every signed PDF into a folder, resumable.

The folder gets one file per document and ``manifest.csv``; rerun into the same
folder to finish an interrupted export (files already complete are skipped, checked
by size and SHA-256). A signal stops it at once: files are written atomically and
their manifest rows flushed as they land, so nothing half-done is left to lose.

Exit status: 0 every document exported (or already there), 1 some failed or the API
refused the job, 2 bad input or configuration, 130 interrupted (SIGINT), 143
terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

import anyio

from .._batch import BatchSummary, ExportResult, ExportStatus, ExportSummary
from .._batch._export import DEFAULT_EXPORT_CONCURRENCY, check_status
from .._client import PactaClient
from .._errors import ConfigurationError, InvalidInputError, PactaError
from .._ratelimit import DEFAULT_REQUESTS_PER_MINUTE, TokenBucketLimiter
from ..types import DocumentStatus
from ._inputs import SHOWN_PROBLEMS, InputError, read_ids
from ._output import Subparsers, add_timeout_option, fail
from ._progress import Progress, progress_display
from ._stop import Stopper

__all__ = ["add_export"]

_INTERRUPTED, _TERMINATED = 130, 143
_STATUS = {signal.SIGINT: _INTERRUPTED, signal.SIGTERM: _TERMINATED}


def add_export(commands: Subparsers) -> None:
    export = commands.add_parser(
        "export",
        help="download signed PDFs into a folder, with a manifest; rerun to resume",
        description=(
            "Download every document with --status (default COMPLETED), or the given ids, "
            "into --out, with DIR/manifest.csv (id, title, externalId, status, completedAt, "
            "path, sha256, size). Rerun with the same --out to finish an interrupted export."
        ),
    )
    export.add_argument("ids", metavar="ID", nargs="*", help="document ids (default: list)")
    export.add_argument(
        "--ids-file", metavar="FILE", type=Path, help="one id per line; # comments ignored"
    )
    export.add_argument(
        "--status",
        default=str(DocumentStatus.COMPLETED),
        help="without ids, export every document with this status (default: %(default)s)",
    )
    export.add_argument("--out", metavar="DIR", type=Path, required=True)
    export.add_argument(
        "--original", action="store_true", help="the uploaded PDFs, not the signed ones"
    )
    export.add_argument("--token", help="the API token (default: $PACTA_API_TOKEN)")
    export.add_argument("--base-url", help="the API's base URL (default: $PACTA_BASE_URL)")
    export.add_argument(
        "--concurrency",
        metavar="N",
        type=int,
        default=DEFAULT_EXPORT_CONCURRENCY,
        help="downloads at once (default: %(default)s)",
    )
    export.add_argument(
        "--requests-per-minute",
        metavar="N",
        type=float,
        default=DEFAULT_REQUESTS_PER_MINUTE,
        help="the token's general limit (default: %(default)s)",
    )
    add_timeout_option(export)
    export.set_defaults(run=_run_export, sigterm_status=_TERMINATED)


def _as_batch(summary: ExportSummary) -> BatchSummary:
    """For the shared progress display, whose first count reads "downloaded" here."""
    return BatchSummary(
        "export",
        sent=summary.downloaded,
        failed=summary.failed,
        skipped=summary.skipped,
        elapsed=summary.elapsed,
    )


def _run_export(args: argparse.Namespace) -> int:
    ids: list[int] | None = None
    if args.ids or args.ids_file is not None:
        try:
            ids = [given.id for given in read_ids(args)]
        except InputError as exc:
            return fail(str(exc), 2)
    try:
        check_status(args.status)
    except InvalidInputError as exc:
        return fail(str(exc), 2)
    if args.concurrency < 1:
        return fail(f"--concurrency must be 1 or more, got {args.concurrency}", 2)
    try:
        client = PactaClient(
            args.token,
            base_url=args.base_url,
            rate_limiter=TokenBucketLimiter(requests_per_minute=args.requests_per_minute),
            total_timeout=args.timeout,
        )
    except ConfigurationError as exc:
        return fail(str(exc), 2)
    stopper = Stopper(args.concurrency, 0.0)
    failures: list[str] = []
    shown: list[Progress] = []
    latest: list[ExportSummary] = []

    def on_result(result: ExportResult) -> None:
        if result.status is ExportStatus.FAILED and len(failures) < SHOWN_PROBLEMS:
            failures.append(f"  document {result.document_id}: {result.error}")

    def on_progress(summary: ExportSummary) -> None:
        latest[:] = [summary]
        shown[0].update(_as_batch(summary))

    async def job() -> ExportSummary:
        if ids is None:
            # One document a page: the page count is the number of documents.
            listing = await client.documents.list(page=1, per_page=1, status=args.status)
            total = listing.total_pages if listing.documents else 0
        else:
            total = len(ids)
        shown.append(progress_display(total, "exporting", done_word="downloaded"))
        return await client.batch.download_many(
            args.out,
            ids,
            status=args.status,
            original=args.original,
            concurrency=args.concurrency,
            on_result=on_result,
            on_progress=on_progress,
        )

    async def main() -> ExportSummary | None:
        async with client:
            return await stopper.run(job)

    try:
        try:
            summary = anyio.run(main)
        finally:
            for progress in shown:
                progress.close()
    except (InvalidInputError, ConfigurationError) as exc:
        return fail(str(exc), 2)
    except PactaError as exc:
        return fail(str(exc), 1)
    summary = summary or (latest[0] if latest else None)
    if summary is not None:
        rate = summary.done / summary.elapsed if summary.elapsed else 0.0
        print(
            f"{summary.downloaded} downloaded, {summary.failed} failed, {summary.skipped} "
            f"skipped (already complete) in {summary.elapsed:.1f}s, {rate:.1f}/s"
        )
        print(f"Manifest: {args.out / 'manifest.csv'}")
    if failures:
        print("Failed:")
        print("\n".join(failures))
        if summary is not None and summary.failed > len(failures):
            print(f"  ... and {summary.failed - len(failures)} more")
    if stopper.signal is not None:
        signum = stopper.signal
        return fail(
            f"{signum.name}: interrupted; rerun with --out {args.out} to finish", _STATUS[signum]
        )
    if summary is not None and summary.failed:
        print(f"Rerun with --out {args.out} to retry the failed documents only.")
    return 0 if summary is not None and summary.ok else 1
