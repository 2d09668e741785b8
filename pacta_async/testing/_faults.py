"""Fault injection: seeded, so a failing test fails the same way every run.

Each `Faults` rule has its own `random.Random(seed)`, re-created whenever rules
are set, and draws the same number of values for every request it applies to:
the same sequence of requests meets the same faults. (Concurrent requests take
draws in arrival order, so only sequential runs repeat exactly.)
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable, Sequence

import attrs

from .._clock import Clock

__all__ = ["SEND_ROUTES", "FaultInjector", "FaultPlan", "Faults", "Storm"]

# The two operations that count as sends, for `Faults(routes=SEND_ROUTES)`.
SEND_ROUTES = frozenset(
    {"POST /documents/{documentId}/send", "POST /templates/{templateId}/generate"}
)


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, not {value}")


def _routes(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@attrs.frozen(kw_only=True)
class Storm:
    """Answer 429 to every request for `seconds`, or for the next `requests`, whichever ends first.

    `retry_after` defaults to the rest of a timed storm (at least 1 second), else 1.
    """

    seconds: float | None = None
    requests: int | None = None
    retry_after: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.seconds is None and self.requests is None:
            raise ValueError("a storm needs seconds, requests or both")


@attrs.frozen(kw_only=True)
class Faults:
    """One fault rule, applied to `routes` (all routes when None).

    Routes are named like the spec: ``"POST /documents/{documentId}/send"``.
    `error_rate` answers 500 with a JSON `INTERNAL_ERROR` body, or 502/503/504 with a
    proxy's HTML page, picked from `error_statuses`. `retry_after_as_date` rewrites a
    429's `Retry-After` as an HTTP date, as a CDN in front of Pacta may: rounded up
    to the second (never early), with a `Date` header, both by a clock that is
    `proxy_clock_skew` seconds ahead of the server's. Drops close the connection
    before the request is processed (nothing changes) or after it (the change
    stands but the answer is lost). `late_rate` drops the connection once the
    request is read, and processes it `late_delay` seconds later, as a real server
    does with a request whose client gave up (this needs `ReferenceServer.running()`
    in-process). Injected answers consume no rate limit, and injected 5xx carry no
    `X-RateLimit-*` headers. A proxy's page echoes the request's headers,
    `Authorization` included, as some proxies' error pages do.

    `login_page_rate` answers 200 with an HTML sign-in page instead of the API, as an
    SSO gateway, a captive portal or a wrong base URL would; nothing is processed.
    """

    error_rate: float = attrs.field(default=0.0, validator=_rate)
    error_statuses: tuple[int, ...] = (500, 502, 503)
    latency: float = 0.0
    latency_rate: float = attrs.field(default=1.0, validator=_rate)
    drop_before_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_after_rate: float = attrs.field(default=0.0, validator=_rate)
    late_rate: float = attrs.field(default=0.0, validator=_rate)
    late_delay: float = 1.0
    storm: Storm | None = None
    retry_after_as_date: bool = False
    proxy_clock_skew: float = 0.0
    routes: frozenset[str] | None = attrs.field(default=None, converter=_routes)
    seed: int = 0
    login_page_rate: float = attrs.field(default=0.0, validator=_rate)

    def __attrs_post_init__(self) -> None:
        if not self.error_statuses or not set(self.error_statuses) <= {500, 502, 503, 504}:
            raise ValueError("error_statuses must be some of 500, 502, 503 and 504")


@attrs.frozen
class FaultPlan:
    """What happens to one request."""

    latency: float = 0.0
    storm_retry_after: int | None = None
    drop_before: bool = False
    error_status: int | None = None
    drop_after: bool = False
    # Rewrite a 429's Retry-After as an HTTP date by a clock this far ahead; None: don't.
    dated_retry_after_skew: float | None = None
    late: float | None = None  # processed this many seconds after the connection dropped
    login_page: bool = False


class _Rule:
    def __init__(self, faults: Faults, now: float) -> None:
        self.faults = faults
        self.random = random.Random(faults.seed)
        storm = faults.storm
        self.storm_ends = None if storm is None or storm.seconds is None else now + storm.seconds
        self.storm_left = None if storm is None else storm.requests

    def storm_retry_after(self, now: float) -> int | None:
        storm = self.faults.storm
        if storm is None:
            return None
        if self.storm_ends is not None and now >= self.storm_ends:
            return None
        if self.storm_left is not None:
            if self.storm_left <= 0:
                return None
            self.storm_left -= 1
        if storm.retry_after is not None:
            return storm.retry_after
        if self.storm_ends is not None:
            return max(1, math.ceil(self.storm_ends - now))
        return 1


class FaultInjector:
    """The current rules, and a `FaultPlan` for each request; thread-safe."""

    def __init__(self, clock: Clock, rules: Sequence[Faults]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self.set(rules)

    def set(self, rules: Sequence[Faults]) -> None:
        now = self._clock.monotonic()
        with self._lock:
            self._rules = [_Rule(faults, now) for faults in rules]

    def plan(self, route: str | None) -> FaultPlan:
        """Draw this request's faults; `route` is None for a path that matches no route."""
        now = self._clock.monotonic()
        latency = 0.0
        storm: int | None = None
        drop_before = drop_after = False
        error: int | None = None
        dated: float | None = None
        late: float | None = None
        login_page = False
        with self._lock:
            for rule in self._rules:
                faults = rule.faults
                if faults.routes is not None and route not in faults.routes:
                    continue
                rolls = [rule.random.random() for _ in range(5)]
                status = rule.random.choice(faults.error_statuses)
                if rolls[0] < faults.latency_rate:
                    latency += faults.latency
                if storm is None:
                    storm = rule.storm_retry_after(now)
                drop_before = drop_before or rolls[1] < faults.drop_before_rate
                if error is None and rolls[2] < faults.error_rate:
                    error = status
                drop_after = drop_after or rolls[3] < faults.drop_after_rate
                if faults.retry_after_as_date and dated is None:
                    dated = faults.proxy_clock_skew
                if late is None and rolls[4] < faults.late_rate:
                    late = faults.late_delay
                if faults.login_page_rate:  # drawn only when asked for: seeds stay as they were
                    login_page = login_page or rule.random.random() < faults.login_page_rate
        return FaultPlan(latency, storm, drop_before, error, drop_after, dated, late, login_page)
