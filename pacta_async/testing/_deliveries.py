"""Webhook deliveries: real HTTP POSTs, retried with exponential backoff.

Each webhook has its own queue and at most one sender, so one webhook's events
arrive in the order they happened while a slow or failing webhook never holds up
the others. Deliveries happen only inside `Deliveries.running()`; events queued before it
starts are delivered once it does.

As Pacta (following Documenso) does: an attempt that gets no answer within the
timeout (10 s) is a failure, and is retried while the receiver may still be
handling it; every retry carries the attempt's own `createdAt`, and its payload
re-serialised with the keys in another order (as a Postgres `jsonb` column gives
them back). `WebhookFaults` adds duplicates: a 2xx that is lost on the way back.
"""

from __future__ import annotations

import collections
import contextlib
import json
import random
import threading
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
import anyio.from_thread
import anyio.lowlevel
import attrs
import httpx
from anyio.abc import TaskGroup

from .._clock import Clock
from ._time import timestamp

__all__ = [
    "DEFAULT_DELIVERY_TIMEOUT",
    "Backoff",
    "Deliveries",
    "Delivery",
    "WebhookFaults",
    "jsonb_order",
]

# Pacta's wait for an answer, for the whole attempt (connect, send, answer).
DEFAULT_DELIVERY_TIMEOUT = 10.0


@attrs.frozen(kw_only=True)
class Backoff:
    """Retry delays for failed deliveries: `base`, doubling up to `cap`, for `give_up_after`.

    The defaults are Pacta's (retries for up to 24 hours); tests pass milliseconds.
    """

    base: float = 5.0
    cap: float = 3600.0
    give_up_after: float = 24 * 3600.0

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.base * 2 ** (failures - 1)))


@attrs.frozen(kw_only=True)
class WebhookFaults:
    """Seeded delivery faults: `duplicate_rate` of the 2xx answers are lost on the way back.

    Pacta then sees a failure and delivers the event again, although the receiver
    handled it; the delivery counts as delivered once a 2xx gets through.
    """

    duplicate_rate: float = attrs.field(
        default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )
    seed: int = 0


@attrs.frozen(kw_only=True)
class Delivery:
    """One event for one webhook, as the control API reports it."""

    webhook_id: str
    url: str
    event: str
    body: dict[str, Any]  # as first delivered; retries change `createdAt` and key order
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None  # None: no attempt yet, or no HTTP answer
    attempt_created_at: tuple[str, ...]  # the `createdAt` each attempt carried


@attrs.define
class _Item:
    webhook_id: str
    url: str
    secret: str
    body: dict[str, Any]
    queued_at: float
    status: Literal["pending", "delivered", "failed"] = "pending"
    attempts: int = 0
    last_status_code: int | None = None
    attempt_created_at: list[str] = attrs.Factory(list)

    def snapshot(self) -> Delivery:
        return Delivery(
            webhook_id=self.webhook_id,
            url=self.url,
            event=self.body["event"],
            body=self.body,
            status=self.status,
            attempts=self.attempts,
            last_status_code=self.last_status_code,
            attempt_created_at=tuple(self.attempt_created_at),
        )

    def attempt_body(self, created_at: str) -> bytes:
        """The body of the next attempt: the first as queued, retries re-serialised."""
        if not self.attempts:
            return json.dumps(self.body).encode()
        return json.dumps(jsonb_order({**self.body, "createdAt": created_at})).encode()


def jsonb_order(value: Any) -> Any:
    """Keys in `jsonb` order (shorter first, then by bytes), at every level."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [jsonb_order(v) for v in value]
    return value


class Deliveries:
    """The delivery queues, shared by the server's state and one running worker."""

    def __init__(
        self,
        clock: Clock,
        backoff: Backoff,
        *,
        timeout: float = DEFAULT_DELIVERY_TIMEOUT,
        faults: WebhookFaults | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("the delivery timeout must be positive")
        self._clock = clock
        self._backoff = backoff
        self._timeout = timeout
        self._faults = faults or WebhookFaults()
        self._random = random.Random(self._faults.seed)
        self._lock = threading.Lock()
        self._log: list[_Item] = []
        self._queues: dict[str, collections.deque[_Item]] = {}
        self._senders: set[str] = set()  # webhooks with a sender task
        self._queued_since_wake = False
        # The running worker: its wake-up event, event loop and thread.
        self._wakeup: anyio.Event | None = None
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._thread: int | None = None

    def enqueue(self, webhook_id: str, url: str, secret: str, body: dict[str, Any]) -> None:
        """Queue a delivery; cheap and non-blocking, so callers may hold their own lock."""
        item = _Item(webhook_id, url, secret, body, self._clock.monotonic())
        with self._lock:
            self._log.append(item)
            self._queues.setdefault(webhook_id, collections.deque()).append(item)
            self._queued_since_wake = True

    def wake(self) -> None:
        """Tell the worker, from any thread, to look at the queues; a no-op when none runs."""
        with self._lock:
            if not self._queued_since_wake:
                return
            self._queued_since_wake = False
            wakeup, token, thread = self._wakeup, self._token, self._thread
        if wakeup is None or token is None:
            return
        if thread == threading.get_ident():
            wakeup.set()
            return
        with contextlib.suppress(anyio.RunFinishedError):  # its event loop just ended
            anyio.from_thread.run_sync(wakeup.set, token=token)

    def snapshot(self) -> list[Delivery]:
        with self._lock:
            return [item.snapshot() for item in self._log]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Deliver from this event loop while the block runs. One worker at a time."""
        with self._lock:
            if self._wakeup is not None:
                raise RuntimeError("webhook deliveries are already running")
            self._wakeup = anyio.Event()
            self._token = anyio.lowlevel.current_token()
            self._thread = threading.get_ident()
        raised: BaseException | None = None
        try:
            async with (
                httpx.AsyncClient(timeout=httpx.Timeout(self._timeout)) as client,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(self._dispatch, client, tg)
                try:
                    yield
                except BaseException as exc:  # re-raised as is, not in an ExceptionGroup
                    raised = exc
                finally:
                    tg.cancel_scope.cancel()
            if raised is not None:
                raise raised
        finally:
            with self._lock:
                self._wakeup = self._token = self._thread = None
                self._senders.clear()

    async def _dispatch(self, client: httpx.AsyncClient, tg: TaskGroup) -> None:
        """Start a sender for each webhook with deliveries waiting, whenever woken."""
        while True:
            with self._lock:
                idle = [w for w, q in self._queues.items() if q and w not in self._senders]
                self._senders.update(idle)
                self._wakeup = wakeup = anyio.Event()
            for webhook_id in idle:
                tg.start_soon(self._drain, client, webhook_id)
            await wakeup.wait()

    async def _drain(self, client: httpx.AsyncClient, webhook_id: str) -> None:
        """Deliver one webhook's queue in order, each item until it succeeds or expires."""
        while True:
            with self._lock:
                queue = self._queues[webhook_id]
                if not queue:
                    self._senders.discard(webhook_id)
                    return
                item = queue[0]
            await self._deliver(client, item)
            with self._lock:
                queue.popleft()

    async def _deliver(self, client: httpx.AsyncClient, item: _Item) -> None:
        while True:
            with self._lock:
                first = not item.attempts
            created_at = item.body["createdAt"] if first else timestamp(self._clock.wall())
            content = item.attempt_body(created_at)
            headers = {"Content-Type": "application/json", "X-Pacta-Secret": item.secret}
            code: int | None = None
            with anyio.move_on_after(self._timeout):  # the whole attempt, not per read
                try:
                    response = await client.post(item.url, content=content, headers=headers)
                    code = response.status_code
                except httpx.HTTPError:
                    pass
            with self._lock:
                item.attempts += 1
                item.attempt_created_at.append(created_at)
                item.last_status_code = code
                answered_2xx = code is not None and 200 <= code < 300
                if answered_2xx and self._random.random() >= self._faults.duplicate_rate:
                    item.status = "delivered"
                    return
                delay = self._backoff.delay(item.attempts)
                waited = self._clock.monotonic() - item.queued_at
                if waited + delay > self._backoff.give_up_after:
                    item.status = "failed"
                    return
            await self._clock.sleep(delay)
