"""Reading Pacta's rate-limit headers: `Retry-After` and `X-RateLimit-*`."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import attrs

__all__ = [
    "CLOCK_SKEW_TOLERANCE",
    "RateLimitHeaders",
    "parse_rate_limit_headers",
    "parse_retry_after",
]

# An HTTP date is read against our own clock while it agrees with the response's
# `Date` header to within this much (`Date` has one-second resolution, so a second of
# difference is no skew); past it, our clock is off, and the wait is measured from
# `Date` instead, which the same server (or proxy) wrote with the same clock.
CLOCK_SKEW_TOLERANCE = 2.0


def _http_date(value: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date).

    Returns None when the header is absent or unreadable; never negative. `now` is the
    wall-clock time (epoch seconds) that an HTTP date is measured against, unless the
    response's own `Date` shows that clock to be skewed (see `CLOCK_SKEW_TOLERANCE`).
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None  # nan and -1 are unreadable, not "now"
    moment = _http_date(value)
    if moment is None:
        return None
    current = time.time() if now is None else now
    sent = _http_date(headers.get("date", ""))
    if sent is not None and abs(sent - current) > CLOCK_SKEW_TOLERANCE:
        current = sent
    return max(0.0, moment - current)


@attrs.frozen
class RateLimitHeaders:
    """The server's view of the general limit, as sent on every response."""

    limit: int
    remaining: int
    reset: float  # epoch seconds at which the window resets


def parse_rate_limit_headers(headers: Mapping[str, str]) -> RateLimitHeaders | None:
    """The `X-RateLimit-*` triple, or None when any part is absent or unreadable."""
    try:
        return RateLimitHeaders(
            limit=int(headers["x-ratelimit-limit"]),
            remaining=int(headers["x-ratelimit-remaining"]),
            reset=float(headers["x-ratelimit-reset"]),
        )
    except (KeyError, ValueError):
        return None
