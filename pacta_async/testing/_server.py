"""`ReferenceServer`: the in-memory Pacta, its control API, and the ways to run it."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import anyio
import httpx
import uvicorn
from starlette.routing import Route

from .._clock import Clock, SystemClock
from ._app import PREFIX, build_app
from ._control import WithControl
from ._deliveries import DEFAULT_DELIVERY_TIMEOUT, Backoff, Deliveries, Delivery, WebhookFaults
from ._detached import spawn
from ._faults import FaultInjector, Faults
from ._limits import Limits, RateLimiter
from ._middleware import ConnectionDropped, FaultLayer, LateRequests
from ._serving import listen
from ._state import Plan, State
from ._storage import STORAGE_URL, Storage, StorageRequest

__all__ = ["ReferenceServer"]

_STARTUP_TIMEOUT = 10.0


class _InProcessTransport(httpx.AsyncBaseTransport):
    """`httpx.ASGITransport` that fails a dropped connection the way a socket would, and
    sends requests for the storage origin's host to storage."""

    def __init__(self, app: FaultLayer | WithControl, storage: Storage) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._storage = httpx.ASGITransport(app=storage)
        self._storage_host = httpx.URL(STORAGE_URL).host

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self._storage_host:
            return await self._storage.handle_async_request(request)
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            ) from None


class _HideDrops(logging.Filter):
    """Keeps uvicorn from logging every injected drop as an application error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


_HIDE_DROPS = _HideDrops()


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}{PREFIX}"


class ReferenceServer:
    """An in-memory Pacta: the whole API, a control API for tests, and fault injection.

    Run it in-process with `transport()` (webhooks are delivered inside `running()`),
    over loopback with `serve_in_thread()`, or as a process with
    ``python -m pacta_async.testing``. Control methods are synchronous and
    thread-safe, so a test can call them while the server runs in another thread;
    they raise `ApiError` where the HTTP API would answer an error.

    `clock` drives rate limits, timestamps, token expiry, injected latency and
    webhook backoff. A `FakeClock` suits in-process use; it cannot be slept on
    from the server thread of `serve_in_thread()`.

    Webhook deliveries behave like Pacta's: an attempt unanswered after
    `webhook_timeout` seconds fails and is retried with `webhook_backoff`, each
    retry with a new `createdAt`; `webhook_faults` adds lost 2xx answers
    (duplicates). `control_api=True` serves the control API over HTTP as well,
    under ``/_control/`` (see `pacta_async.testing._control`), for receivers
    tested from another process.
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        faults: Sequence[Faults] = (),
        clock: Clock | None = None,
        webhook_backoff: Backoff | None = None,
        webhook_timeout: float = DEFAULT_DELIVERY_TIMEOUT,
        webhook_faults: WebhookFaults | None = None,
        control_api: bool = False,
    ) -> None:
        self._clock = clock or SystemClock()
        self._limiter = RateLimiter(limits or Limits(), self._clock)
        self._deliveries = Deliveries(
            self._clock,
            webhook_backoff or Backoff(),
            timeout=webhook_timeout,
            faults=webhook_faults,
        )
        self._state = State(self._clock, self._deliveries)
        starlette = build_app(self._state, self._limiter)
        self._routes = [route for route in starlette.routes if isinstance(route, Route)]
        self._injector = FaultInjector(self._clock, ())
        self.set_faults(*faults)
        self._late = LateRequests()
        self._fault_layer = FaultLayer(
            starlette, self._routes, self._injector, self._limiter, self._clock, self._late
        )
        self._app: FaultLayer | WithControl = self._fault_layer
        if control_api:
            self._app = WithControl(self._app, self._state, self._deliveries)

    @property
    def app(self) -> FaultLayer | WithControl:
        """The ASGI application, faults and all, for any ASGI server."""
        return self._app

    @property
    def storage_app(self) -> Storage:
        """The file storage origin's ASGI application. Whoever serves `app` with their
        own ASGI server serves this on another port and sets its `base_url` to that
        origin, or download links point at a host that does not exist."""
        return self._state.storage

    # -- control API ------------------------------------------------------------

    def create_team(self, name: str = "Team", *, plan: Plan = "business") -> int:
        """A new team; embed tokens need the ``"business"`` or ``"enterprise"`` plan."""
        return self._state.create_team(name, plan)

    def create_token(self, team_id: int, *, expires_in: float | None = None) -> str:
        """A new `api_...` token for the team, expiring `expires_in` seconds from now."""
        return self._state.create_token(team_id, expires_in)

    def duplicate(self, document_id: int, copies: int = 1) -> list[int]:
        """`copies` duplicates of the document, as `POST /documents/{id}/duplicate` makes
        each, in one step: thousands of drafts to seed a test with, in a fraction of the
        time as many requests would take."""
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
            raise ValueError(f"copies must be a whole number >= 1, got {copies!r}")
        return self._state.duplicate_many(document_id, copies)

    def open_document(self, document_id: int, recipient_id: int) -> None:
        """The recipient opens the signing link (`DOCUMENT_OPENED`, the first time)."""
        self._state.open(document_id, recipient_id)

    def sign(self, document_id: int, recipient_id: int) -> None:
        """The signer or approver signs; the last one completes the document."""
        self._state.sign(document_id, recipient_id)

    def complete(self, document_id: int) -> None:
        """Every signer and approver still to sign signs at once: a burst of events that
        share one `createdAt` millisecond, then `DOCUMENT_COMPLETED`."""
        self._state.complete(document_id)

    def reject(self, document_id: int, recipient_id: int) -> None:
        """The signer or approver rejects, which rejects the document."""
        self._state.reject(document_id, recipient_id)

    def cancel(self, document_id: int) -> None:
        """The sender cancels a PENDING document."""
        self._state.cancel(document_id)

    def send_count(self, document_id: int) -> int:
        """How many times the document was sent, by `send` or as a template's `generate`."""
        return self._state.send_count(document_id)

    def document(self, document_id: int) -> dict[str, Any]:
        """The document as the API would return it, without a token or a rate limit."""
        return self._state.document(document_id)

    def storage_requests(self) -> list[StorageRequest]:
        """Every request that reached the storage origin, oldest first, each saying
        whether it carried an `Authorization` header (it never should)."""
        return self._state.storage.requests()

    def set_storage_faults(
        self, *, expired_links: int = 0, truncations: int = 0, redirects: int = 0, stalls: int = 0
    ) -> None:
        """The next `expired_links` download links are already expired when used, the
        next `truncations` files end halfway (short of their Content-Length), the next
        `redirects` files answer 302 to another storage location, the next `stalls`
        send half the file and then stall (for a client killed mid-download)."""
        self._state.storage.set_faults(
            expired_links=expired_links,
            truncations=truncations,
            redirects=redirects,
            stalls=stalls,
        )

    def deliveries(self) -> list[Delivery]:
        """Every webhook delivery so far, oldest first."""
        return self._deliveries.snapshot()

    def set_limits(self, limits: Limits) -> None:
        """Replace the rate limits; every token starts again from a full bucket."""
        self._limiter.set_limits(limits)

    def set_faults(self, *faults: Faults) -> None:
        """Replace the fault rules (none: no faults); seeds and storms start over."""
        known = {
            f"{method} {route.name}"
            for route in self._routes
            for method in (route.methods or set()) - {"HEAD"}
        }
        for rule in faults:
            unknown = (rule.routes or frozenset()) - known
            if unknown:
                raise ValueError(f"unknown routes {sorted(unknown)}; known: {sorted(known)}")
        self._injector.set(faults)

    def clear_faults(self) -> None:
        self._injector.set(())

    def injected_faults(self) -> dict[str, int]:
        """How many times each fault was acted out so far, by name: ``latency``,
        ``storm``, ``drop_before``, ``login_page``, ``error_500`` (and 502-504),
        ``drop_after``, ``late`` (dropped, to be processed late) and ``late_processed``
        (processed since). A test shows with it that its chaos really happened."""
        return dict(self._fault_layer.injected)

    # -- running ----------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """For ``httpx.AsyncClient(transport=..., base_url="http://pacta.test/api/v1")``."""
        return _InProcessTransport(self._app, self._state.storage)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Deliver webhooks, and process requests late (the `late_rate` fault), from this
        event loop while the block runs (in-process use).

        The block may be entered in one task and left in another, as an async fixture's
        setup and teardown are under pytest-asyncio: the work runs in a task of its own.
        An error in it is raised when the block is left.
        """
        started, stop, stopped = anyio.Event(), anyio.Event(), anyio.Event()
        failure: list[BaseException] = []

        async def work() -> None:
            try:
                async with self._deliveries.running(), self._late.running():
                    started.set()
                    await stop.wait()
            except BaseException as exc:  # handed to whoever leaves the block
                failure.append(exc)
            finally:
                started.set()
                stopped.set()

        spawn(work)
        await started.wait()
        try:
            if failure:
                raise failure[0]
            yield
        finally:
            stop.set()
            with anyio.CancelScope(shield=True):
                await stopped.wait()
        if failure:
            raise failure[0]

    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, ready: Callable[[str], None] | None = None
    ) -> None:
        """Serve HTTP and deliver webhooks until cancelled; `ready` gets the base URL."""
        sock = listen(host, port)
        storage_sock = listen(host, 0)
        with sock, storage_sock:
            await self._serve(sock, uvicorn.Server(self._uvicorn_config()), storage_sock, ready)

    def _uvicorn_config(self, app: Any = None) -> uvicorn.Config:
        logging.getLogger("uvicorn.error").addFilter(_HIDE_DROPS)  # once: filters are a set
        return uvicorn.Config(
            app or self._app,
            http="h11",
            lifespan="off",
            interface="asgi3",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )

    async def _serve(
        self,
        sock: socket.socket,
        server: uvicorn.Server,
        storage_sock: socket.socket,
        ready: Callable[[str], None] | None,
    ) -> None:
        """The API and, on its own port (another origin), the file storage."""
        storage = self._state.storage
        storage.base_url = _base_url(storage_sock).removesuffix(PREFIX)
        storage_server = uvicorn.Server(self._uvicorn_config(storage))
        async with (
            self._deliveries.running(),
            self._late.running(),
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(lambda: storage_server.serve(sockets=[storage_sock]))
            if ready is not None:
                ready(_base_url(sock))
            try:
                await server.serve(sockets=[sock])
            finally:
                storage_server.should_exit = True

    @contextlib.contextmanager
    def serve_in_thread(self, port: int = 0) -> Iterator[str]:
        """Serve on 127.0.0.1 from a background thread; yields the base URL (``.../api/v1``).

        Port 0 picks a free port. The server stops, and its thread ends, when the
        block exits.
        """
        sock = listen("127.0.0.1", port)
        storage_sock = listen("127.0.0.1", 0)
        server = uvicorn.Server(self._uvicorn_config())
        failure: list[BaseException] = []

        def run() -> None:
            try:
                anyio.run(self._serve, sock, server, storage_sock, None, backend="asyncio")
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=run, name="pacta-reference-server", daemon=True)
        with sock, storage_sock:
            thread.start()
            deadline = time.monotonic() + _STARTUP_TIMEOUT
            while not server.started and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.002)
            try:
                if not server.started:
                    raise RuntimeError("the reference server did not start") from (
                        failure[0] if failure else None
                    )
                yield _base_url(sock)
            finally:
                server.should_exit = True
                thread.join()
