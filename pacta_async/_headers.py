"""Reading Pacta's rate-limit headers: `Retry-After` and `X-RateLimit-*`."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import attrs

__all__ = ["RateLimitHeaders", "parse_rate_limit_headers", "parse_retry_after"]


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date).

    Returns None when the header is absent or unreadable; never negative. `now` is the
    wall-clock time (epoch seconds) that an HTTP date is measured against.
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


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
