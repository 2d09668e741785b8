"""Per-call options, carried from a resource method down to the transport.

The generated endpoint functions take no timeout or retry arguments, so a resource
method sets these in a context variable and the transport layer, which runs in the
same task, reads them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextvars import ContextVar

import attrs
import httpx

from ._errors import InvalidInputError

__all__ = ["RequestOptions", "current_options", "request_options"]


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


@contextlib.contextmanager
def request_options(
    *, timeout: float | httpx.Timeout | None = None, max_retries: int | None = None
) -> Iterator[None]:
    """Apply a call's own timeout and retry limit to the requests made inside the block.

    A number is the call's total timeout, pacing and retries included, and caps each
    attempt as well; an `httpx.Timeout` sets only each attempt's phases, as in httpx.
    """
    if max_retries is not None and max_retries < 0:
        raise InvalidInputError("max_retries must be >= 0", field="max_retries")
    total = None
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        if not (timeout > 0 and math.isfinite(timeout)):
            raise InvalidInputError(
                f"timeout must be a positive number of seconds, got {timeout!r}", field="timeout"
            )
        total = float(timeout)
    options = RequestOptions(
        timeout=None if timeout is None else httpx.Timeout(timeout),
        max_retries=max_retries,
        total_timeout=total,
    )
    token = _current.set(options)
    try:
        yield
    finally:
        _current.reset(token)
