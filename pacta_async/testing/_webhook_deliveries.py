"""Webhook deliveries built by hand, to unit-test a receiver without running a server.

    delivery = build_webhook_delivery("DOCUMENT_COMPLETED", secret="whsec_...")
    response = await client.post("/webhooks/pacta", content=delivery.body,
                                 headers=delivery.headers)
    retry = delivery.retried()  # what Pacta sends when it tries again

A delivery is exactly what Pacta sends: the JSON body and the `Content-Type` and
`X-Pacta-Secret` headers. `retried()` is the same event as a later attempt carries
it: a new `createdAt`, the payload unchanged but re-serialised in another key order.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Mapping
from typing import Any

import attrs

from .._webhooks._parse import NO_SECRET, parse_webhook
from ._deliveries import jsonb_order
from ._time import timestamp

__all__ = ["WebhookDelivery", "build_webhook_delivery", "sample_document"]

_DEFAULT_ENDPOINT = "https://example.com/webhooks/pacta"


def sample_document(**overrides: Any) -> dict[str, Any]:
    """A `PENDING` document with one signer, as a webhook payload; `overrides` replace fields."""
    document: dict[str, Any] = {
        "id": 42,
        "title": "Q4 vendor agreement",
        "status": "PENDING",
        "externalId": None,
        "teamId": 1,
        "createdAt": "2026-05-12T09:30:00.000Z",
        "updatedAt": "2026-05-12T09:31:00.000Z",
        "completedAt": None,
        "recipients": [
            {
                "id": 7,
                "documentId": overrides.get("id", 42),
                "name": "John Doe",
                "email": "john@acme.com",
                "role": "SIGNER",
                "signingOrder": None,
                "signingStatus": "NOT_SIGNED",
                "readStatus": "OPENED",
                "sendStatus": "SENT",
                "signedAt": None,
                "signingUrl": "https://sign.pacta.ink/sign/3f9a1c",
            }
        ],
    }
    document.update(overrides)
    return document


@attrs.frozen
class WebhookDelivery:
    """One delivery attempt: post `body` with `headers` to the receiver."""

    body: bytes
    headers: dict[str, str]

    def retried(self, created_at: str | datetime.datetime | None = None) -> WebhookDelivery:
        """The same event in a later attempt: new `createdAt` (default: now), keys reordered."""
        data = json.loads(self.body)
        data["createdAt"] = _created_at(created_at)
        return WebhookDelivery(json.dumps(jsonb_order(data)).encode(), dict(self.headers))


def build_webhook_delivery(
    event: str = "DOCUMENT_SIGNED",
    *,
    secret: str,
    document: Mapping[str, Any] | None = None,
    created_at: str | datetime.datetime | None = None,
    webhook_endpoint: str = _DEFAULT_ENDPOINT,
) -> WebhookDelivery:
    """A delivery of `event` about `document` (default `sample_document()`), signed with
    `secret` ("" for a subscription without one), at `created_at` (default: now).

    Any event name is accepted, including ones newer than this SDK. The result is
    checked with `parse_webhook`, so a document that Pacta could not have sent
    raises `WebhookPayloadError` here rather than in the receiver under test.
    """
    body = {
        "event": event,
        "payload": dict(sample_document() if document is None else document),
        "createdAt": _created_at(created_at),
        "webhookEndpoint": webhook_endpoint,
    }
    delivery = WebhookDelivery(
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "X-Pacta-Secret": secret},
    )
    parse_webhook(delivery.body, delivery.headers, secret=secret or NO_SECRET)
    return delivery


def _created_at(value: str | datetime.datetime | None) -> str:
    if value is None:
        return timestamp(time.time())
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        return timestamp(value.timestamp())
    return value
