"""build_webhook_delivery: deliveries for unit-testing a receiver without a server."""

from __future__ import annotations

import datetime
import json

import pytest

from pacta_async import (
    NO_SECRET,
    DocumentRejected,
    UnknownWebhookEvent,
    WebhookPayloadError,
    parse_webhook,
)
from pacta_async.testing import build_webhook_delivery, sample_document


def test_a_delivery_is_what_pacta_sends() -> None:
    moment = datetime.datetime(2026, 5, 12, 9, 32, tzinfo=datetime.UTC)
    delivery = build_webhook_delivery(
        "DOCUMENT_REJECTED", secret="whsec_x", created_at=moment, webhook_endpoint="https://r/h"
    )
    assert delivery.headers == {"Content-Type": "application/json", "X-Pacta-Secret": "whsec_x"}
    body = json.loads(delivery.body)
    assert body == {
        "event": "DOCUMENT_REJECTED",
        "payload": sample_document(),
        "createdAt": "2026-05-12T09:32:00.000Z",
        "webhookEndpoint": "https://r/h",
    }
    event = parse_webhook(delivery.body, delivery.headers, secret="whsec_x")
    assert isinstance(event, DocumentRejected)


def test_any_event_name_and_no_secret() -> None:
    delivery = build_webhook_delivery("DOCUMENT_ARCHIVED", secret="")
    assert delivery.headers["X-Pacta-Secret"] == ""
    event = parse_webhook(delivery.body, delivery.headers, secret=NO_SECRET)
    assert isinstance(event, UnknownWebhookEvent)


def test_a_retry_is_the_same_event_at_a_later_time() -> None:
    first = build_webhook_delivery(secret="s", created_at="2020-05-12T09:32:00.000Z")
    retry = first.retried("2026-05-12T09:32:10.000Z")
    a, b = json.loads(first.body), json.loads(retry.body)
    assert b["createdAt"] == "2026-05-12T09:32:10.000Z"
    assert {**a, "createdAt": None} == {**b, "createdAt": None}
    assert retry.headers == first.headers
    assert json.loads(first.retried().body)["createdAt"] > a["createdAt"]


def test_a_document_pacta_could_not_send_is_refused_here() -> None:
    with pytest.raises(WebhookPayloadError, match=r"payload\.id must be an integer"):
        build_webhook_delivery(secret="s", document=sample_document(id="42"))
    with pytest.raises(ValueError, match="timezone-aware"):
        build_webhook_delivery(secret="s", created_at=datetime.datetime(2026, 5, 12))
