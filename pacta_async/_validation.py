"""Checks on arguments, made before anything is sent.

A request Pacta would reject costs a rate-limit token and, for uploads, the time
to send up to 50 MiB; checking locally fails faster and names the bad argument.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
import sys
import warnings
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
from pacta_api.models import RecipientRole, WebhookEventType

from ._errors import InvalidInputError
from ._params import GenerateRecipientParam, RecipientParam

__all__ = [
    "MAX_PER_PAGE",
    "UnknownValueWarning",
    "check_email",
    "check_enum",
    "check_events",
    "check_field_geometry",
    "check_id",
    "check_max_retries",
    "check_paging",
    "check_recipients",
    "check_template_recipients",
    "check_text",
    "check_timeout",
    "check_url",
    "is_loopback",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
E = TypeVar("E", bound=Enum)


def check_id(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{field} must be a positive integer, got {value!r}", field=field)
    return value


def check_max_retries(value: object, field: str = "max_retries") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{field} must be an integer >= 0, got {value!r}", field=field)
    return value


def _check_seconds(value: object, field: str) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:  # type: ignore[arg-type,operator]
        raise InvalidInputError(
            f"{field} must be a number of seconds > 0 (or an httpx.Timeout), got {value!r}",
            field=field,
        )


def check_timeout(value: object, field: str) -> httpx.Timeout | None:
    """Seconds (a finite number > 0) or an `httpx.Timeout` whose limits are; None: the default.

    A timeout of 0 or NaN would fail every request, and a string would only fail deep
    inside httpx once the request is on its way.
    """
    if value is None:
        return None
    if isinstance(value, httpx.Timeout):
        for name, seconds in value.as_dict().items():
            if seconds is not None:
                _check_seconds(seconds, f"{field}.{name}")
        return value
    _check_seconds(value, field)
    return httpx.Timeout(value)  # type: ignore[arg-type]


MAX_PER_PAGE = 100


def check_paging(page: object, per_page: object) -> None:
    check_id(page, "page")
    if check_id(per_page, "per_page") > MAX_PER_PAGE:
        raise InvalidInputError(f"per_page must be at most {MAX_PER_PAGE}", field="per_page")


def check_text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{field} must be a non-empty string", field=field)
    return value


def check_email(value: object, field: str) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise InvalidInputError(f"{field} is not an email address: {value!r}", field=field)
    return value


class UnknownValueWarning(UserWarning):
    """An enum argument has a value this version of pacta_async does not know.

    It is sent as given, since Pacta adds values over time; a typo is answered by
    Pacta with a 400. Turn it into an error with ``warnings.simplefilter("error",
    UnknownValueWarning)``.
    """


def check_enum(value: object, enum: type[E], field: str) -> E:
    """Accept a member or its string value. An unknown string is kept (Pacta adds
    values over time) with an `UnknownValueWarning` naming the closest known value."""
    known = [str(member.value) for member in enum]
    if isinstance(value, enum) and str(value.value) in known:
        return value
    if isinstance(value, str) and value in known:
        return enum(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            f"{field} must be one of {', '.join(known)} (or a newer value); got {value!r}",
            field=field,
        )
    hint = difflib.get_close_matches(value.upper(), known, n=1)
    suggestion = f"did you mean {hint[0]!r}? " if hint else ""
    warnings.warn(
        f"{field}={value!r} is not one of {', '.join(known)}; {suggestion}"
        "sending it as given, in case Pacta added it",
        UnknownValueWarning,
        stacklevel=_caller_level(),
    )
    return enum(value)


def _caller_level() -> int:
    """The stack level of the first frame outside pacta_async: the user's call."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("pacta_async"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _check_list(value: object, field: str) -> None:
    # A dict or a str is iterable too, and would be taken apart key by key.
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        raise InvalidInputError(
            f"{field} must be a list of dicts, got {type(value).__name__}", field=field
        )


def check_recipients(recipients: Iterable[RecipientParam]) -> list[RecipientParam]:
    _check_list(recipients, "recipients")
    checked: list[RecipientParam] = []
    for i, recipient in enumerate(recipients):
        where = f"recipients[{i}]"
        if not isinstance(recipient, dict):
            raise InvalidInputError(f"{where} must be a dict with name and email", field=where)
        unknown = set(recipient) - {"name", "email", "role", "signing_order"}
        if unknown:
            raise InvalidInputError(f"{where} has unknown keys: {sorted(unknown)}", field=where)
        item = RecipientParam(
            name=check_text(recipient.get("name"), f"{where}.name"),
            email=check_email(recipient.get("email"), f"{where}.email"),
            role=check_enum(recipient.get("role", "SIGNER"), RecipientRole, f"{where}.role"),
        )
        if "signing_order" in recipient:
            item["signing_order"] = check_id(recipient["signing_order"], f"{where}.signing_order")
        checked.append(item)
    return checked


def check_template_recipients(
    recipients: Iterable[GenerateRecipientParam],
) -> list[GenerateRecipientParam]:
    _check_list(recipients, "recipients")
    checked: list[GenerateRecipientParam] = []
    for i, recipient in enumerate(recipients):
        where = f"recipients[{i}]"
        if not isinstance(recipient, dict):
            raise InvalidInputError(f"{where} must be a dict with id, name and email", field=where)
        checked.append(
            GenerateRecipientParam(
                id=check_id(recipient.get("id"), f"{where}.id"),
                name=check_text(recipient.get("name"), f"{where}.name"),
                email=check_email(recipient.get("email"), f"{where}.email"),
            )
        )
    if not checked:
        raise InvalidInputError("recipients must not be empty", field="recipients")
    return checked


def check_field_geometry(page: object, x: object, y: object, width: object, height: object) -> None:
    check_id(page, "page")
    for name, value, positive in (
        ("x", x, False),
        ("y", y, False),
        ("width", width, True),
        ("height", height, True),
    ):
        number_ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not number_ok or not math.isfinite(value) or value < 0 or (positive and value == 0):  # type: ignore[arg-type,operator]
            rule = "a positive number" if positive else "a number >= 0"
            raise InvalidInputError(f"{name} must be {rule}, got {value!r}", field=name)


def check_events(events: Sequence[WebhookEventType | str]) -> list[WebhookEventType]:
    if isinstance(events, str) or not events:
        raise InvalidInputError(
            "events must be a non-empty list of event names", field="eventTriggers"
        )
    return [
        check_enum(event, WebhookEventType, f"eventTriggers[{i}]") for i, event in enumerate(events)
    ]


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, field: str, *, allow_insecure_http: bool = False) -> str:
    """An absolute https URL; plain http only for loopback or when explicitly allowed."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInputError(
            f"{field} must be an absolute http(s) URL, got {url!r}", field=field
        )
    if parts.scheme == "http" and not (allow_insecure_http or is_loopback(parts.hostname)):
        raise InvalidInputError(
            f"{field} must use https (plain http is allowed only for loopback): {url!r}",
            field=field,
        )
    return url
