"""Helpers for the webhook tests: deliveries as Pacta sends them, and ways to run a receiver."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette

from pacta_async import WebhookEvent

SECRET = "whsec_3b1f0c9e7a"
RECEIVER_PATH = "/webhooks/pacta"


def document_json(**overrides: Any) -> dict[str, Any]:
    """A Document as Pacta serialises it."""
    document: dict[str, Any] = {
        "id": 42,
        "title": "Q4 vendor agreement",
        "status": "PENDING",
        "externalId": "po-1001",
        "teamId": 7,
        "createdAt": "2026-05-12T09:30:00.000Z",
        "updatedAt": "2026-05-12T09:31:00.000Z",
        "completedAt": None,
        "recipients": [
            {
                "id": 3,
                "documentId": 42,
                "name": "John Doe",
                "email": "john@acme.com",
                "role": "SIGNER",
                "signingOrder": None,
                "signingStatus": "NOT_SIGNED",
                "readStatus": "OPENED",
                "sendStatus": "SENT",
                "signedAt": None,
                "signingUrl": "https://sign.pacta.ink/sign/abc",
            }
        ],
    }
    document.update(overrides)
    return document


def delivery_json(event: str = "DOCUMENT_SIGNED", **overrides: Any) -> dict[str, Any]:
    """A webhook delivery body as Pacta sends it."""
    body: dict[str, Any] = {
        "event": event,
        "payload": document_json(),
        "createdAt": "2026-05-12T09:32:00.000Z",
        "webhookEndpoint": "https://example.com/webhooks/pacta",
    }
    body.update(overrides)
    return body


def encode(body: object) -> bytes:
    return json.dumps(body).encode()


def load_example(name: str) -> ModuleType:
    """Import a module from examples/, which is not a package."""
    path = Path(__file__).resolve().parents[2] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Recorder:
    """A webhook handler that remembers what it was given; safe to read from another thread."""

    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []

    async def __call__(self, event: WebhookEvent) -> None:
        self.events.append(event)

    async def wait_for(self, count: int) -> list[WebhookEvent]:
        """Wait until `count` events arrived; polls, as the handler may run in another thread."""
        with anyio.fail_after(10):
            while len(self.events) < count:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        return self.events


@asynccontextmanager
async def asgi_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan (httpx does not) and talk to it in-process."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://receiver.test"
        ) as client,
    ):
        yield client
