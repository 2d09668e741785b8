"""parse_webhook: the secret check, typed events, and every way a body can be wrong."""

from __future__ import annotations

import datetime
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pacta_api.models import Document, DocumentStatus, WebhookEventType
from starlette.datastructures import Headers as StarletteHeaders

from pacta_async import (
    DEFAULT_WEBHOOK_MAX_BODY_BYTES,
    NO_SECRET,
    ConfigurationError,
    DocumentCancelled,
    DocumentCompleted,
    DocumentCreated,
    DocumentOpened,
    DocumentRejected,
    DocumentSent,
    DocumentSigned,
    UnknownWebhookEvent,
    WebhookEvent,
    WebhookPayloadError,
    WebhookSignatureError,
    parse_webhook,
)

from .support import SECRET, delivery_json, document_json, encode

HEADERS = {"X-Pacta-Secret": SECRET}


def parse(body: object, headers: Any = HEADERS, **kwargs: Any) -> WebhookEvent:
    raw = body if isinstance(body, bytes) else encode(body)
    return parse_webhook(raw, headers, secret=kwargs.pop("secret", SECRET), **kwargs)


# -- typed events ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("DOCUMENT_CREATED", DocumentCreated),
        ("DOCUMENT_SENT", DocumentSent),
        ("DOCUMENT_OPENED", DocumentOpened),
        ("DOCUMENT_SIGNED", DocumentSigned),
        ("DOCUMENT_COMPLETED", DocumentCompleted),
        ("DOCUMENT_REJECTED", DocumentRejected),
        ("DOCUMENT_CANCELLED", DocumentCancelled),
    ],
)
def test_each_event_parses_to_its_class(name: str, cls: type[WebhookEvent]) -> None:
    body = delivery_json(name)
    event = parse(body)
    assert type(event) is cls
    assert event.event == name
    assert isinstance(event.document, Document)
    assert event.document.id == 42
    assert event.document.status is DocumentStatus.PENDING
    assert event.document.recipients[0].email == "john@acme.com"
    assert event.created_at == datetime.datetime(2026, 5, 12, 9, 32, tzinfo=datetime.UTC)
    assert event.webhook_endpoint == "https://example.com/webhooks/pacta"
    assert event.raw == body


def test_every_event_in_the_spec_has_a_class() -> None:
    for name in WebhookEventType:
        assert type(parse(delivery_json(name.value))) is not UnknownWebhookEvent, name


def test_events_work_with_match() -> None:
    def describe(event: WebhookEvent) -> str:
        match event:
            case DocumentSigned(document=document):
                return f"signed {document.id}"
            case DocumentCompleted():
                return "completed"
            case _:
                return "other"

    assert describe(parse(delivery_json("DOCUMENT_SIGNED"))) == "signed 42"
    assert describe(parse(delivery_json("DOCUMENT_COMPLETED"))) == "completed"
    assert describe(parse(delivery_json("DOCUMENT_OPENED"))) == "other"


def test_unknown_event_name_gives_a_generic_event() -> None:
    event = parse(delivery_json("DOCUMENT_EXPIRED"))
    assert type(event) is UnknownWebhookEvent
    assert isinstance(event, WebhookEvent)
    assert event.event == "DOCUMENT_EXPIRED"
    assert event.document.id == 42


def test_new_fields_and_enum_values_are_kept() -> None:
    payload = document_json(status="ARCHIVED", folderId=9)
    event = parse(delivery_json(payload=payload, deliveryId="d-1"))
    assert event.document.status == "ARCHIVED"
    assert event.document.additional_properties == {"folderId": 9}
    assert event.raw["deliveryId"] == "d-1"


def test_events_are_frozen() -> None:
    event = parse(delivery_json())
    with pytest.raises(AttributeError):
        event.event = "DOCUMENT_SENT"  # type: ignore[misc]


def test_dedup_key_ignores_created_at_and_serialisation() -> None:
    first = parse(delivery_json(createdAt="2026-05-12T09:32:00.000Z"))
    retry = parse(delivery_json(createdAt="2026-05-12T09:32:07.000Z"))
    reordered = json.dumps(dict(reversed(list(delivery_json().items()))), indent=2).encode()
    assert first.dedup_key == retry.dedup_key == parse(reordered).dedup_key
    assert first.dedup_key.startswith("DOCUMENT_SIGNED:42:")
    assert parse(delivery_json("DOCUMENT_OPENED")).dedup_key != first.dedup_key
    changed = parse(delivery_json(payload=document_json(updatedAt="2026-05-12T09:31:00.001Z")))
    assert changed.dedup_key != first.dedup_key


# -- the secret -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Pacta-Secret": SECRET},
        {"x-pacta-secret": SECRET, "content-type": "application/json"},
        httpx.Headers({"X-PACTA-SECRET": SECRET}),
        StarletteHeaders(raw=[(b"x-pacta-secret", SECRET.encode())]),
        [("Content-Type", "application/json"), ("X-Pacta-Secret", SECRET)],
    ],
    ids=["dict", "dict-lowercase", "httpx", "starlette", "pairs"],
)
def test_secret_header_is_found_in_any_headers_shape(headers: Any) -> None:
    assert isinstance(parse(delivery_json(), headers), DocumentSigned)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing X-Pacta-Secret"),
        ({"X-Pacta-Secret": "whsec_wrong"}, "does not match"),
        ({"X-Pacta-Secret": ""}, "does not match"),
        ({"X-Pacta-Secret": SECRET + " "}, "does not match"),
        ([("X-Pacta-Secret", SECRET), ("x-pacta-secret", "other")], "more than one"),
    ],
    ids=["missing", "wrong", "empty", "suffix", "duplicated"],
)
def test_bad_secret_is_rejected_without_revealing_it(headers: Any, message: str) -> None:
    with pytest.raises(WebhookSignatureError, match=message) as caught:
        parse(delivery_json(), headers)
    assert SECRET not in str(caught.value)
    assert "whsec_wrong" not in str(caught.value)


def test_secret_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, object]] = []
    compare_digest = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr("pacta_async._webhooks._parse.hmac.compare_digest", spy)
    parse(delivery_json())
    assert calls == [(SECRET.encode(), SECRET.encode())]
    calls.clear()
    parse(delivery_json(), secret=[SECRET, "whsec_old"])  # every secret, no early exit
    assert calls == [(SECRET.encode(), SECRET.encode()), (SECRET.encode(), b"whsec_old")]


@pytest.mark.parametrize("received", ["whsec_new", "whsec_old"])
def test_any_of_several_secrets_is_accepted_while_rotating(received: str) -> None:
    """Case 4: after a rotation, retries signed with the old secret still arrive."""
    secrets = ("whsec_new", "whsec_old")
    event = parse(delivery_json(), {"X-Pacta-Secret": received}, secret=list(secrets))
    assert isinstance(event, DocumentSigned)
    assert isinstance(
        parse(delivery_json(), {"X-Pacta-Secret": received}, secret=secrets), WebhookEvent
    )
    with pytest.raises(WebhookSignatureError, match="does not match") as caught:
        parse(delivery_json(), {"X-Pacta-Secret": "whsec_other"}, secret=list(secrets))
    assert not any(s in str(caught.value) for s in secrets)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ([], "list of webhook secrets is empty"),
        (["whsec_new", ""], "NO_SECRET"),
        (["whsec_new", NO_SECRET], "must be a string"),
        (b"whsec", "a string, a list of strings or NO_SECRET"),
        (None, "a string, a list of strings or NO_SECRET"),
    ],
    ids=["empty-list", "empty-entry", "no-secret-entry", "bytes", "none"],
)
def test_bad_secret_lists_are_configuration_errors(secret: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse(delivery_json(), HEADERS, secret=secret)


def test_secret_is_checked_before_the_body() -> None:
    with pytest.raises(WebhookSignatureError):
        parse(b"not json", {"X-Pacta-Secret": "whsec_wrong"})
    with pytest.raises(WebhookSignatureError):
        parse(b"x" * (DEFAULT_WEBHOOK_MAX_BODY_BYTES + 1), {})


def test_empty_secret_is_a_configuration_error() -> None:
    # An unset environment variable must not silently switch verification off.
    with pytest.raises(ConfigurationError, match="NO_SECRET"):
        parse(delivery_json(), {"X-Pacta-Secret": ""}, secret="")


@pytest.mark.parametrize("headers", [{"X-Pacta-Secret": ""}, {}], ids=["empty", "absent"])
def test_no_secret_accepts_an_empty_or_absent_header(headers: dict[str, str]) -> None:
    assert isinstance(parse(delivery_json(), headers, secret=NO_SECRET), DocumentSigned)


def test_no_secret_rejects_a_delivery_that_carries_one() -> None:
    # The subscription has a secret this receiver does not check: a misconfiguration.
    with pytest.raises(WebhookSignatureError, match="none is configured") as caught:
        parse(delivery_json(), HEADERS, secret=NO_SECRET)
    assert SECRET not in str(caught.value)


# -- the body -------------------------------------------------------------------------


def test_oversize_body_is_rejected_before_parsing() -> None:
    body = encode(delivery_json())
    assert isinstance(parse(body, max_body_bytes=len(body)), DocumentSigned)
    with pytest.raises(WebhookPayloadError, match=f"over the limit of {len(body) - 1}"):
        parse(body, max_body_bytes=len(body) - 1)
    with pytest.raises(WebhookPayloadError, match="over the limit"):
        parse(b"{" * (DEFAULT_WEBHOOK_MAX_BODY_BYTES + 1))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b'{"event": "DOCUMENT_SIGNED",', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[" * 200_000 + b"]" * 200_000, "not valid JSON"),
        (b"[]", "must be a JSON object, got an array"),
        (b'"DOCUMENT_SIGNED"', "must be a JSON object, got a string"),
        (b"null", "must be a JSON object, got null"),
    ],
    ids=["empty", "truncated", "not-utf8", "deeply-nested", "array", "string", "null"],
)
def test_malformed_body(body: bytes, message: str) -> None:
    with pytest.raises(WebhookPayloadError, match=message):
        parse(body)


@pytest.mark.parametrize("field", ["event", "payload", "createdAt", "webhookEndpoint"])
def test_missing_envelope_field(field: str) -> None:
    body = delivery_json()
    del body[field]
    with pytest.raises(WebhookPayloadError, match=f"body has no '{field}' field"):
        parse(body)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"event": 5}, "body.event must be a string, got an integer"),
        ({"event": None}, "body.event must be a string, got null"),
        ({"payload": [document_json()]}, "body.payload must be an object, got an array"),
        ({"createdAt": 1778578320}, "body.createdAt must be a string, got an integer"),
        ({"createdAt": "yesterday"}, "not an RFC 3339 timestamp"),
        ({"createdAt": "2026-05-12T09:32:00"}, "not an RFC 3339 timestamp"),
        ({"webhookEndpoint": True}, "body.webhookEndpoint must be a string, got a boolean"),
    ],
)
def test_ill_typed_envelope_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(WebhookPayloadError, match=message):
        parse(delivery_json(**overrides))


def _without(field: str) -> dict[str, Any]:
    document = document_json()
    del document[field]
    return document


def _recipient_without_email() -> dict[str, Any]:
    document = document_json()
    del document["recipients"][0]["email"]
    return document


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (lambda: {}, "payload has no 'id' field"),
        (lambda: _without("recipients"), "payload has no 'recipients' field"),
        (lambda: document_json(id="42"), "payload.id must be an integer, got a string"),
        (lambda: document_json(id=True), "payload.id must be an integer, got a boolean"),
        (lambda: document_json(status=3), "payload.status must be a string"),
        (lambda: document_json(externalId=1), "payload.externalId must be a string or null"),
        (lambda: document_json(recipients={}), "payload.recipients must be an array"),
        (lambda: document_json(updatedAt="soon"), "payload is not a Document"),
        (lambda: document_json(recipients=["x"]), "payload is not a Document"),
        (_recipient_without_email, "payload is not a Document .*email"),
    ],
)
def test_payload_that_is_not_a_document(
    payload: Callable[[], dict[str, Any]], message: str
) -> None:
    with pytest.raises(WebhookPayloadError, match=message):
        parse(delivery_json(payload=payload()))
