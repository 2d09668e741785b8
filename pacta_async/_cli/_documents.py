"""`pacta-async documents list` (and `export`, in `_export`)."""

from __future__ import annotations

import argparse
import json
import sys

import anyio

from .._client import PactaClient
from .._errors import ConfigurationError, PactaError
from ..types import Document, DocumentStatus
from ._export import add_export
from ._output import Subparsers, add_timeout_option, fail, print_table

__all__ = ["add_commands"]


def add_commands(commands: Subparsers) -> None:
    documents = commands.add_parser("documents", help="look at documents")
    documents_commands = documents.add_subparsers(metavar="COMMAND", required=True)
    list_ = documents_commands.add_parser("list", help="list documents, newest first")
    list_.add_argument(
        "--status",
        help=f"only documents with this status ({', '.join(DocumentStatus)}, or a newer one)",
    )
    list_.add_argument(
        "--limit", metavar="N", type=int, default=20, help="at most N (0: all; default: 20)"
    )
    list_.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_timeout_option(list_)
    list_.set_defaults(run=_run_list)
    add_export(documents_commands)


def _run_list(args: argparse.Namespace) -> int:
    if args.limit < 0:
        return fail("--limit must be 0 (all) or more", 2)

    async def main() -> list[Document]:
        async with PactaClient(total_timeout=args.timeout) as client:
            documents: list[Document] = []
            async for document in client.documents.iter(status=args.status):
                documents.append(document)
                if len(documents) == args.limit:
                    break
            return documents

    try:
        documents = anyio.run(main)
    except KeyboardInterrupt:
        return fail("interrupted; nothing was listed", 130)
    except ConfigurationError as exc:
        return fail(str(exc), 2)
    except PactaError as exc:
        return fail(str(exc), 1)
    if args.json:
        json.dump([document.to_dict() for document in documents], sys.stdout, indent=2)
        print()
    else:
        print_table(
            ["ID", "STATUS", "CREATED", "EXTERNAL ID", "TITLE"],
            [
                [
                    str(document.id),
                    str(document.status),
                    document.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    document.external_id or "",
                    document.title,
                ]
                for document in documents
            ],
        )
    return 0
