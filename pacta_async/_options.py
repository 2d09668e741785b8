"""Per-call options, carried from a resource method down to the transport.

The generated endpoint functions take no timeout or retry arguments, so a resource
method sets these in a context variable and the transport layer, which runs in the
same task, reads them. The transport hands the success answer back the same way, so
a body the generated parser chokes on can still be reported with its status and text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Final, Literal

import attrs
import httpx

from ._validation import check_max_retries, check_timeout

__all__ = [
    "NOT_GIVEN",
    "NotGiven",
    "ReceivedResponse",
    "RequestOptions",
    "current_options",
    "receive_response",
    "record_response",
    "request_options",
]


class NotGiven:
    """The type of `NOT_GIVEN`: an argument left out, where None means something else.

    `PactaClient(rate_limiter=None)` switches pacing off; leaving it out (`NOT_GIVEN`)
    gives the client its own limiter at Pacta's limits.
    """

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


@attrs.frozen
class RequestOptions:
    timeout: httpx.Timeout | None = None
    max_retries: int | None = None
    # The whole call's budget: pacing, every attempt and every wait between them.
    total_timeout: float | None = None


_NO_OPTIONS = RequestOptions()
_current: ContextVar[RequestOptions] = ContextVar("pacta_request_options", default=_NO_OPTIONS)


def current_options() -> RequestOptions:
    return _current.get()


def request_options(
    *, timeout: object = None, max_retries: object = None
) -> contextlib.AbstractContextManager[None]:
    """Apply a call's own timeout and retry limit to the requests made inside the block.

    A number is the call's total timeout, pacing and retries included, and caps each
    attempt as well; an `httpx.Timeout` sets only each attempt's phases, as in httpx.
    The values are checked here, when the call is made, not when the block is entered,
    so a bad one raises `InvalidInputError` before anything else happens.
    """
    checked = check_timeout(timeout, "timeout")
    total = None if isinstance(timeout, httpx.Timeout) or checked is None else checked.read
    options = RequestOptions(
        timeout=checked,
        max_retries=None if max_retries is None else check_max_retries(max_retries),
        total_timeout=total,
    )
    return _applied(options)


@contextlib.contextmanager
def _applied(options: RequestOptions) -> Iterator[None]:
    token = _current.set(options)
    try:
        yield
    finally:
        _current.reset(token)


@attrs.define
class ReceivedResponse:
    """The last success answer of a call, as the transport saw it."""

    response: httpx.Response | None = None


_received: ContextVar[ReceivedResponse | None] = ContextVar("pacta_received", default=None)


@contextlib.contextmanager
def receive_response() -> Iterator[ReceivedResponse]:
    """Collect the success answer of the requests made inside the block."""
    received = ReceivedResponse()
    token = _received.set(received)
    try:
        yield received
    finally:
        _received.reset(token)


def record_response(response: httpx.Response) -> None:
    received = _received.get()
    if received is not None:
        received.response = response
