"""What a failed request means for repeating it: refused, certainly not sent, or maybe sent.

A refused request cannot succeed by repeating; one certainly not sent (a 429, a
connection never made) is safe to repeat; one maybe sent (a timeout, a dropped
connection, a 5xx after the request left) must be checked before it is repeated.
"""

from __future__ import annotations

import enum

from .._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    InvalidInputError,
    PactaError,
    RateLimitError,
    RateLimiterUnavailableError,
)
from .._retry import NOT_SENT_ERRORS

__all__ = ["Outcome", "as_pacta_error", "backoff", "classify"]

_BACKOFF_START = 0.25
_BACKOFF_CAP = 10.0


class Outcome(enum.Enum):
    REJECTED = enum.auto()  # Pacta refused it: repeating cannot help
    NOT_SENT = enum.auto()  # certainly not processed: safe to repeat
    MAYBE = enum.auto()  # may have been processed: check before repeating


def classify(error: PactaError) -> Outcome:
    # A fail-closed limiter refuses before anything leaves.
    if isinstance(error, RateLimitError | RateLimiterUnavailableError):
        return Outcome.NOT_SENT
    cause = error.__cause__
    if isinstance(error, APIConnectionError) and isinstance(cause, NOT_SENT_ERRORS):
        return Outcome.NOT_SENT
    # A total timeout that ran out between attempts (pacing, a backoff, a 429's wait):
    # the transport repeats a POST only after an attempt that was not processed, so
    # none was. (One that ran out in an attempt has that attempt's error as its cause.)
    if isinstance(error, APITimeoutError) and (cause is None or isinstance(cause, RateLimitError)):
        return Outcome.NOT_SENT
    # Misconfigured (a limiter that cannot run here): refused before anything left.
    if isinstance(error, InvalidInputError | ConfigurationError) or (
        isinstance(error, APIStatusError) and error.status_code < 500
    ):
        return Outcome.REJECTED
    # 5xx, timeouts, dropped connections, and anything unexpected after the request left.
    return Outcome.MAYBE


def as_pacta_error(exc: Exception) -> PactaError:
    """Errors outside the transport (a body cut off while read) become PactaErrors."""
    if isinstance(exc, PactaError):
        return exc
    error = PactaError(f"{type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def backoff(attempt: int) -> float:
    return min(_BACKOFF_CAP, _BACKOFF_START * 2.0 ** (attempt - 1))
