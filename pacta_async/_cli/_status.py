"""`pacta-async batch status --journal J`: where each item of a batch stands now.

After thousands of sends, who has signed? The journal knows each item's document;
the server knows its status. Statuses come from list pages (100 documents each,
newest first, stopping once every document is found), not one GET per document,
the same lookup `documents.watch` uses.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import anyio

from .._batch._journal import JournalRow, open_journal
from .._client import PactaClient
from .._errors import ConfigurationError, JournalError, PactaError
from .._watch import look_up
from ..types import Document
from ._output import Subparsers, add_timeout_option, fail, print_table

__all__ = ["add_status"]

_COLUMNS = ["key", "batch_state", "document_id", "status", "signed", "title", "error"]


def add_status(commands: Subparsers) -> None:
    status = commands.add_parser(
        "status",
        help="print each item's current status on Pacta (who has signed)",
        description="For every item in the batch journal, its document's status now.",
    )
    status.add_argument("--journal", metavar="FILE", type=Path, required=True)
    status.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    status.add_argument("--token", help="the API token (default: $PACTA_API_TOKEN)")
    status.add_argument("--base-url", help="the API's base URL (default: $PACTA_BASE_URL)")
    add_timeout_option(status)
    status.set_defaults(run=_run_status)


def _signed(document: Document | None) -> str:
    if document is None:
        return ""
    signers = [r for r in document.recipients if str(r.role) in ("SIGNER", "APPROVER")]
    done = sum(1 for r in signers if str(r.signing_status) == "SIGNED")
    return f"{done}/{len(signers)}"


def _run_status(args: argparse.Namespace) -> int:
    if not args.journal.is_file():
        return fail(f"no journal at {args.journal}", 2)

    async def main() -> tuple[list[tuple[str, JournalRow]], dict[int, Document]]:
        journal = await open_journal(args.journal)
        try:
            rows = await journal.rows()
        finally:
            await journal.aclose()
        wanted = {row.document_id for _, row in rows if row.document_id is not None}
        async with PactaClient(
            args.token, base_url=args.base_url, total_timeout=args.timeout
        ) as client:
            found, _ = await look_up(client.documents, wanted)
        return rows, found

    try:
        rows, found = anyio.run(main)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except (ConfigurationError, JournalError) as exc:
        return fail(str(exc), 2)
    except PactaError as exc:
        return fail(str(exc), 1)
    table = []
    for key, row in rows:
        document = None if row.document_id is None else found.get(row.document_id)
        table.append(
            [
                key,
                row.state.value,
                "" if row.document_id is None else str(row.document_id),
                "" if document is None else str(document.status),
                _signed(document),
                "" if document is None else document.title,
                row.error or "",
            ]
        )
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(_COLUMNS)
        writer.writerows(table)
    else:
        print_table([c.upper() for c in _COLUMNS], table)
    return 0
