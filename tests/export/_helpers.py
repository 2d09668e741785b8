"""Completed documents on the reference server, for the export tests."""

from __future__ import annotations

import csv
from pathlib import Path

from pacta_async import PactaClient
from pacta_async.testing import Limits, ReferenceServer, make_pdf

UNLIMITED = Limits(general=1_000_000, send=1_000_000)
SIGNER = {"name": "Ann Lee", "email": "ann@acme.com", "role": "SIGNER"}


async def sent(client: PactaClient, title: str, external_id: str | None = None) -> int:
    document = await client.documents.create(
        make_pdf(1), title=title, recipients=[SIGNER], external_id=external_id
    )
    await client.documents.fields.create(
        document.id,
        recipient_id=document.recipients[0].id,
        type="SIGNATURE",
        page=1,
        x=100,
        y=600,
        width=200,
        height=50,
    )
    await client.documents.send(document.id, send_email=False)
    return document.id


async def completed(
    client: PactaClient, server: ReferenceServer, count: int, prefix: str = "NDA"
) -> list[int]:
    ids = []
    for number in range(count):
        document_id = await sent(client, f"{prefix} {number}/x", f"ext-{number}")
        server.complete(document_id)
        ids.append(document_id)
    return ids


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def signed(server: ReferenceServer, document_id: int) -> bytes:
    content = server._state.stored_file(document_id, "signed")
    assert content is not None
    return content
