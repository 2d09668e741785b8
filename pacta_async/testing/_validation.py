"""Checking request input the way the spec snapshot describes it.

Every check raises `VALIDATION_ERROR` naming the offending field the way Pacta
does (``recipients[0].email``), so the answer tells a client exactly what to fix.
Business rules that need stored state (document status, pages, ownership) live in
`_state`; these checks need only the request.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from ._errors import validation_error

__all__ = [
    "FieldInput",
    "GenerateInput",
    "GenerateRecipient",
    "Page",
    "RecipientInput",
    "UploadInput",
    "WebhookInput",
    "field_input",
    "generate_input",
    "page_params",
    "recipient_input",
    "send_email",
    "status_filter",
    "upload_input",
    "webhook_input",
]

DOCUMENT_STATUSES: Final = frozenset({"DRAFT", "PENDING", "COMPLETED", "REJECTED", "CANCELLED"})
ROLES: Final = frozenset({"SIGNER", "APPROVER", "VIEWER", "CC", "ASSISTANT"})
FIELD_TYPES: Final = frozenset(
    {
        "SIGNATURE",
        "FREE_SIGNATURE",
        "INITIALS",
        "NAME",
        "EMAIL",
        "DATE",
        "TEXT",
        "NUMBER",
        "RADIO",
        "CHECKBOX",
        "DROPDOWN",
    }
)
EVENTS: Final = (
    "DOCUMENT_CREATED",
    "DOCUMENT_SENT",
    "DOCUMENT_OPENED",
    "DOCUMENT_SIGNED",
    "DOCUMENT_COMPLETED",
    "DOCUMENT_REJECTED",
    "DOCUMENT_CANCELLED",
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_DIGITS = re.compile(r"[0-9]+")
_RECIPIENT_PART = re.compile(r"recipients\[([0-9]+)\]\[([A-Za-z]+)\]")
_MAX_PER_PAGE = 100


@attrs.frozen
class RecipientInput:
    name: str
    email: str
    role: str
    signing_order: int | None


@attrs.frozen
class UploadInput:
    """A document or template upload: the multipart form, checked."""

    title: str
    external_id: str | None
    recipients: tuple[RecipientInput, ...]
    pdf: bytes


@attrs.frozen
class FieldInput:
    type: str
    page: int
    x: float
    y: float
    width: float
    height: float
    recipient_id: int


@attrs.frozen
class GenerateRecipient:
    id: int
    name: str
    email: str


@attrs.frozen
class GenerateInput:
    title: str | None
    external_id: str | None
    recipients: tuple[GenerateRecipient, ...]
    send_email: bool


@attrs.frozen
class WebhookInput:
    """Create or update input; for an update, None leaves the value as it was."""

    webhook_url: str | None
    event_triggers: tuple[str, ...] | None
    secret: str | None
    enabled: bool | None


@attrs.frozen
class Page:
    page: int
    per_page: int


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise validation_error("body", "the request body must be a JSON object")
    return body


def _string(raw: Mapping[str, Any], key: str, field: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and key not in raw and not required:
        return None
    if not isinstance(value, str):
        raise validation_error(field, f"{field} is required and must be a string")
    return value


def _name(raw: Mapping[str, Any], key: str, field: str) -> str:
    value = _string(raw, key, field)
    if not value:
        raise validation_error(field, f"{field} must not be empty")
    return value


def _email(raw: Mapping[str, Any], key: str, field: str) -> str:
    value = _string(raw, key, field)
    if value is None or not _EMAIL.fullmatch(value):
        raise validation_error(field, f"{field} must be an email address")
    return value


def _integer(value: Any, field: str) -> int:
    # JSON Schema counts 2.0 as an integer, so a client may send it that way.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise validation_error(field, f"{field} must be an integer")
    return value


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise validation_error(field, f"{field} must be a number")
    return value  # an int stays an int, as the client sent it


def _boolean(raw: Mapping[str, Any], key: str, field: str) -> bool | None:
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, bool):
        raise validation_error(field, f"{field} must be true or false")
    return value


def _role(value: Any, field: str) -> str:
    if not isinstance(value, str) or value not in ROLES:
        raise validation_error(field, f"{field} must be one of {', '.join(sorted(ROLES))}")
    return value


def _signing_order(value: Any, field: str) -> int:
    order = _integer(value, field)
    if order < 1:
        raise validation_error(field, f"{field} must be at least 1")
    return order


def recipient_input(body: Any) -> RecipientInput:
    """`POST /documents/{id}/recipients`: a JSON recipient."""
    raw = _object(body)
    order = raw.get("signingOrder")
    return RecipientInput(
        name=_name(raw, "name", "name"),
        email=_email(raw, "email", "email"),
        role=_role(raw.get("role"), "role"),
        signing_order=None if "signingOrder" not in raw else _signing_order(order, "signingOrder"),
    )


def _recipient_parts(parts: Mapping[str, str]) -> tuple[RecipientInput, ...]:
    """`recipients[i][key]` parts, numbered from 0 without gaps."""
    if "recipients" in parts:  # a JSON list, as some generated clients send it
        raise validation_error(
            "recipients",
            "send each recipient as recipients[i][name], recipients[i][email], "
            "recipients[i][role] and recipients[i][signingOrder] parts",
        )
    by_index: dict[int, dict[str, str]] = {}
    for name, value in parts.items():
        match = _RECIPIENT_PART.fullmatch(name)
        if match:
            by_index.setdefault(int(match[1]), {})[match[2]] = value
    recipients = []
    for index in range(len(by_index)):
        prefix = f"recipients[{index}]"
        raw = by_index.get(index)
        if raw is None:
            raise validation_error(prefix, "recipients must be numbered from 0 without gaps")
        order = raw.get("signingOrder")
        if order is not None and not _DIGITS.fullmatch(order):
            raise validation_error(f"{prefix}.signingOrder", "signingOrder must be an integer")
        recipients.append(
            RecipientInput(
                name=_name(raw, "name", f"{prefix}.name"),
                email=_email(raw, "email", f"{prefix}.email"),
                role=_role(raw.get("role"), f"{prefix}.role"),
                signing_order=None
                if order is None
                else _signing_order(int(order), f"{prefix}.signingOrder"),
            )
        )
    return tuple(recipients)


def upload_input(parts: Mapping[str, str], pdf: bytes) -> UploadInput:
    """A multipart upload's text parts plus the file; the file itself is checked by `_state`."""
    return UploadInput(
        title=_name(parts, "title", "title"),
        external_id=parts.get("externalId"),
        recipients=_recipient_parts(parts),
        pdf=pdf,
    )


def field_input(body: Any) -> FieldInput:
    """`POST /documents/{id}/fields`."""
    raw = _object(body)
    field_type = raw.get("type")
    if not isinstance(field_type, str) or field_type not in FIELD_TYPES:
        raise validation_error("type", f"type must be one of {', '.join(sorted(FIELD_TYPES))}")
    page = _integer(raw.get("page"), "page")
    if page < 1:
        raise validation_error("page", "page must be at least 1")
    x, y = _number(raw.get("x"), "x"), _number(raw.get("y"), "y")
    width, height = _number(raw.get("width"), "width"), _number(raw.get("height"), "height")
    for name, value in (("x", x), ("y", y)):
        if value < 0:
            raise validation_error(name, f"{name} must not be negative")
    for name, value in (("width", width), ("height", height)):
        if value <= 0:
            raise validation_error(name, f"{name} must be positive")
    return FieldInput(
        type=field_type,
        page=page,
        x=x,
        y=y,
        width=width,
        height=height,
        recipient_id=_integer(raw.get("recipientId"), "recipientId"),
    )


def send_email(body: Any) -> bool:
    """`POST /documents/{id}/send`: the optional `{"sendEmail": bool}` body."""
    flag = _boolean(_object(body), "sendEmail", "sendEmail")
    return True if flag is None else flag


def generate_input(body: Any) -> GenerateInput:
    """`POST /templates/{id}/generate`."""
    raw = _object(body)
    title = None if "title" not in raw else _name(raw, "title", "title")
    recipients_raw = raw.get("recipients")
    if not isinstance(recipients_raw, list):
        raise validation_error("recipients", "recipients is required and must be a list")
    recipients = []
    for index, item in enumerate(recipients_raw):
        prefix = f"recipients[{index}]"
        if not isinstance(item, dict):
            raise validation_error(prefix, f"{prefix} must be an object")
        recipients.append(
            GenerateRecipient(
                id=_integer(item.get("id"), f"{prefix}.id"),
                name=_name(item, "name", f"{prefix}.name"),
                email=_email(item, "email", f"{prefix}.email"),
            )
        )
    flag = _boolean(raw, "sendEmail", "sendEmail")
    return GenerateInput(
        title=title,
        external_id=_string(raw, "externalId", "externalId", required=False),
        recipients=tuple(recipients),
        send_email=True if flag is None else flag,
    )


def _webhook_url(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise validation_error("webhookUrl", "webhookUrl must be an http or https URL")
    return str(value)


def _event_triggers(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise validation_error("eventTriggers", "eventTriggers must list at least one event")
    for index, event in enumerate(value):
        if not isinstance(event, str) or event not in EVENTS:
            raise validation_error(f"eventTriggers[{index}]", f"unknown event {event!r}")
    return tuple(value)


def webhook_input(body: Any, *, update: bool) -> WebhookInput:
    """`POST /webhooks` (URL and events required) or `PATCH /webhooks/{id}` (all optional)."""
    raw = _object(body)
    required = not update
    return WebhookInput(
        webhook_url=_webhook_url(raw.get("webhookUrl"))
        if required or "webhookUrl" in raw
        else None,
        event_triggers=_event_triggers(raw.get("eventTriggers"))
        if required or "eventTriggers" in raw
        else None,
        secret=_string(raw, "secret", "secret", required=False),
        enabled=_boolean(raw, "enabled", "enabled"),
    )


def _query_int(query: Mapping[str, str], key: str, default: int, maximum: int | None) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= (maximum or math.inf):
        limit = f" and at most {maximum}" if maximum else ""
        raise validation_error(key, f"{key} must be an integer of at least 1{limit}")
    return int(raw)


def page_params(query: Mapping[str, str]) -> Page:
    """`page` (from 1) and `perPage` (1 to 100, default 10) of a list endpoint."""
    return Page(
        page=_query_int(query, "page", 1, None),
        per_page=_query_int(query, "perPage", 10, _MAX_PER_PAGE),
    )


def status_filter(query: Mapping[str, str]) -> str | None:
    status = query.get("status")
    if status is not None and status not in DOCUMENT_STATUSES:
        raise validation_error(
            "status", f"status must be one of {', '.join(sorted(DOCUMENT_STATUSES))}"
        )
    return status
