"""Receiving webhook deliveries: check the secret, then turn the body into a typed event.

Framework-neutral on purpose: a receiver hands over the raw body and the headers, so
the same code serves Starlette, FastAPI, Django or a bare ASGI app.

    event = parse_webhook(body, headers, secret=os.environ["PACTA_WEBHOOK_SECRET"])
    # While rotating: the new secret and, for Pacta's 24 hours of retries, the old one.
    event = parse_webhook(body, headers, secret=[new_secret, old_secret])
    match event:
        case DocumentSigned(document=document):
            ...
        case DocumentCompleted():
            ...
        case _:
            pass  # events you do not act on, including ones newer than this SDK
"""

from __future__ import annotations

import datetime
import enum
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from types import NoneType
from typing import Any, Final

from pacta_api.models import Document

from .._errors import ConfigurationError, WebhookPayloadError, WebhookSignatureError
from ._events import EVENT_CLASSES, UnknownWebhookEvent, WebhookEvent

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "NO_SECRET",
    "SECRET_HEADER",
    "NoSecret",
    "WebhookSecret",
    "parse_webhook",
]

SECRET_HEADER: Final = "x-pacta-secret"

# A Document with a few dozen recipients is a few kilobytes; 1 MiB leaves ample room
# while keeping a flood of junk from being parsed.
DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024


class NoSecret(enum.Enum):
    """The type of `NO_SECRET`."""

    NO_SECRET = "NO_SECRET"

    def __repr__(self) -> str:
        return "NO_SECRET"


NO_SECRET: Final = NoSecret.NO_SECRET
"""Pass as `secret=` to accept deliveries of a subscription that has no secret.

Anyone who learns the receiver's URL can then forge events, so this is a named value
rather than an empty string: an unset environment variable must not switch checking off.
"""

WebhookSecret = str | Sequence[str] | NoSecret
"""What `secret=` takes: the subscription's secret, several (while rotating), or `NO_SECRET`.

Pacta keeps retrying deliveries signed with a rotated-out secret for up to 24 hours,
so after `PATCH /webhooks/{id}` accept ``[new, old]`` for a day, then ``new`` alone.
"""

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


# The generated model trusts its input; these checks turn bad input into clear errors.
_DOCUMENT_FIELDS: Final[Mapping[str, tuple[type, ...]]] = {
    "id": (int,),
    "title": (str,),
    "status": (str,),
    "externalId": (str, NoneType),
    "teamId": (int,),
    "createdAt": (str,),
    "updatedAt": (str,),
    "completedAt": (str, NoneType),
    "recipients": (list,),
}

_JSON_TYPES: Final[Mapping[type, str]] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    NoneType: "null",
}


def parse_webhook(
    body: bytes,
    headers: Headers,
    *,
    secret: WebhookSecret,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookEvent:
    """Check a delivery's `X-Pacta-Secret` and return its typed event.

    Header names match case-insensitively in a dict, `httpx.Headers`, Starlette's
    `Headers` or a list of (name, value) pairs. The secret is checked first, so an
    unauthenticated caller learns nothing from the body checks.

    `secret` may list several secrets (a rotation): the delivery is accepted if it
    carries any of them. Each is compared in constant time, and all are compared, so
    timing tells nothing about which one matched or how much of it.

    Raises `WebhookSignatureError` for a missing or wrong secret and `WebhookPayloadError`
    for a body over `max_body_bytes`, malformed JSON or a body of the wrong shape. An
    empty `secret` (or list, or list entry) raises `ConfigurationError`: pass
    `NO_SECRET` to mean "no secret".
    """
    _verify_secret(headers, secret)
    if len(body) > max_body_bytes:
        raise WebhookPayloadError(f"body is {len(body)} bytes, over the limit of {max_body_bytes}")
    return _parse_body(body)


def _verify_secret(headers: Headers, secret: WebhookSecret) -> None:
    expected = _expected_secrets(secret)
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    received = [value for name, value in pairs if name.lower() == SECRET_HEADER]
    if len(received) > 1:
        raise WebhookSignatureError("more than one X-Pacta-Secret header")
    if expected is None:
        if received and received[0]:
            raise WebhookSignatureError(
                "the delivery carries an X-Pacta-Secret but none is configured to check it"
            )
        return
    if not received:
        raise WebhookSignatureError("missing X-Pacta-Secret header")
    value = received[0].encode()
    matched = False
    for candidate in expected:  # no early exit: every secret costs the same time
        matched |= hmac.compare_digest(value, candidate)
    if not matched:
        raise WebhookSignatureError("X-Pacta-Secret does not match the configured secret")


def _expected_secrets(secret: WebhookSecret) -> list[bytes] | None:
    """The secrets to accept as bytes, or None for `NO_SECRET`; bad configuration raises."""
    if secret is NO_SECRET:
        return None
    secrets = [secret] if isinstance(secret, str) else secret
    if isinstance(secrets, bytes | bytearray) or not isinstance(secrets, Sequence):
        raise ConfigurationError(
            f"secret must be a string, a list of strings or NO_SECRET, got {type(secret).__name__}"
        )
    if not secrets:
        raise ConfigurationError("the list of webhook secrets is empty")
    for candidate in secrets:
        if not isinstance(candidate, str):
            raise ConfigurationError(
                f"every webhook secret must be a string, got {type(candidate).__name__}"
            )
        if candidate == "":
            raise ConfigurationError(
                "a webhook secret is empty; set one on the subscription, or pass "
                "secret=NO_SECRET to accept deliveries that anyone could forge"
            )
    return [candidate.encode() for candidate in secrets]


def _parse_body(body: bytes) -> WebhookEvent:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError, deep nesting
        raise WebhookPayloadError(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WebhookPayloadError(f"body must be a JSON object, got {_json_type(data)}")
    event = _field(data, "event", (str,), "body")
    payload = _field(data, "payload", (dict,), "body")
    created_at = _timestamp(_field(data, "createdAt", (str,), "body"))
    webhook_endpoint = _field(data, "webhookEndpoint", (str,), "body")
    for name, kinds in _DOCUMENT_FIELDS.items():
        _field(payload, name, kinds, "payload")
    try:
        document = Document.from_dict(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WebhookPayloadError(
            f"payload is not a Document ({type(exc).__name__}: {exc})"
        ) from None
    cls = EVENT_CLASSES.get(event, UnknownWebhookEvent)
    return cls(
        event=event,
        document=document,
        created_at=created_at,
        webhook_endpoint=webhook_endpoint,
        raw=data,
    )


def _field(data: Mapping[str, Any], name: str, kinds: tuple[type, ...], where: str) -> Any:
    if name not in data:
        raise WebhookPayloadError(f"{where} has no {name!r} field")
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, kinds):  # bool is an int subclass
        expected = " or ".join(_JSON_TYPES[kind] for kind in kinds)
        raise WebhookPayloadError(f"{where}.{name} must be {expected}, got {_json_type(value)}")
    return value


def _timestamp(value: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise WebhookPayloadError(f"body.createdAt is not an RFC 3339 timestamp: {value!r}")
    return moment


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)
