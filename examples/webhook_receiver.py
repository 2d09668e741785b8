"""A Pacta webhook receiver that acts exactly once per event: verify, claim, handle, answer.

Pacta retries anything but a 2xx, and anything unanswered within 10 seconds, for 24
hours, so an event can arrive again while its first delivery is still being handled,
or at another process. The receiver therefore answers 2xx only once the event is
handled (never for a run that may still fail), and uses `WebhookDeduplicator`:

- 200: handled now, or handled before;
- 409: another delivery of the event is being handled right now; Pacta retries later;
- 500: the handler failed; the event is new again and Pacta's retry runs it;
- 503: the handler is still running after `answer_within` seconds (under Pacta's 10 s),
  or too many are running; it goes on, and Pacta's retry gets 200 or 409;
- 401 / 400 / 413: a wrong secret, a body that is not a Pacta event, an oversize body.

Run it (the secret is the one set on the webhook subscription; while rotating, list
the new and the old one, comma-separated; with REDIS_URL set, every process sharing
that Redis handles each event once between them):

    PACTA_WEBHOOK_SECRET=new,old REDIS_URL=redis://localhost:6379/0 \\
        uvicorn --factory examples.webhook_receiver:app_from_env
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager

import anyio
from anyio.abc import TaskGroup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from pacta_async import (
    DEFAULT_WEBHOOK_MAX_BODY_BYTES,
    ConfigurationError,
    HandlingState,
    WebhookDeduplicator,
    WebhookEvent,
    WebhookPayloadError,
    WebhookSecret,
    WebhookSignatureError,
    parse_webhook,
)

logger = logging.getLogger("webhook_receiver")

Handler = Callable[[WebhookEvent], Awaitable[None]]


class _Run:
    """One delivery's handling, which may outlive the request that started it."""

    def __init__(self) -> None:
        self.finished = anyio.Event()
        self.state: HandlingState | None = None
        self.failed = False


def create_app(
    secret: WebhookSecret,
    handler: Handler,
    *,
    dedup: WebhookDeduplicator | None = None,
    max_body_bytes: int = DEFAULT_WEBHOOK_MAX_BODY_BYTES,
    answer_within: float = 8.0,
    max_running: int = 100,
) -> Starlette:
    """A Starlette app receiving deliveries at `POST /webhooks/pacta`.

    Handlers run in the app's task group, so a slow one can go on after its request
    has been answered 503; at shutdown, running handlers are cancelled, which makes
    their events new again for Pacta's retries.
    """
    dedup = dedup if dedup is not None else WebhookDeduplicator()
    task_group: TaskGroup | None = None
    running = 0

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal task_group
        async with anyio.create_task_group() as tg:
            task_group = tg
            try:
                yield
            finally:
                task_group = None
                tg.cancel_scope.cancel()

    async def handle(event: WebhookEvent, run: _Run) -> None:
        nonlocal running
        try:
            async with dedup.once(event) as state:
                run.state = state
                if state is HandlingState.NEW:
                    await handler(event)
        except Exception:
            run.failed = True
            logger.exception("handler failed for %s", event.dedup_key)
        finally:
            running -= 1
            run.finished.set()

    async def receive_webhook(request: Request) -> Response:
        nonlocal running
        body = await _read_body(request, max_body_bytes)
        if body is None:
            return PlainTextResponse("body too large", status_code=413)
        try:
            event = parse_webhook(
                body, request.headers, secret=secret, max_body_bytes=max_body_bytes
            )
        except WebhookSignatureError:
            return PlainTextResponse("invalid webhook secret", status_code=401)
        except WebhookPayloadError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        if task_group is None:
            return PlainTextResponse("not running", status_code=503)
        if running >= max_running:
            return _retry_later("busy")
        run = _Run()
        running += 1
        task_group.start_soon(handle, event, run)
        with anyio.move_on_after(answer_within):
            await run.finished.wait()
        if not run.finished.is_set():
            return _retry_later("still handling this event")
        if run.failed:
            return PlainTextResponse("handler failed", status_code=500)
        if run.state is HandlingState.IN_PROGRESS:
            return PlainTextResponse("being handled by another delivery", status_code=409)
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/webhooks/pacta", receive_webhook, methods=["POST"])],
        lifespan=lifespan,
    )


def _retry_later(reason: str) -> Response:
    return PlainTextResponse(reason, status_code=503, headers={"Retry-After": "10"})


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` (the rest is not read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async with aclosing(request.stream()) as chunks:
        async for chunk in chunks:
            body += chunk
            if len(body) > limit:
                return None
    return bytes(body)


def app_from_env() -> Starlette:
    """The app for `uvicorn --factory`: logs every event it handles.

    `PACTA_WEBHOOK_SECRET` holds the secret, or several comma-separated while rotating;
    `REDIS_URL`, when set, shares the dedup store between processes.
    """
    secrets = [s for s in os.environ["PACTA_WEBHOOK_SECRET"].split(",") if s]
    if not secrets:
        raise ConfigurationError("PACTA_WEBHOOK_SECRET is empty")
    dedup = WebhookDeduplicator()
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        import redis.asyncio

        from pacta_async import RedisDedupStore

        dedup = WebhookDeduplicator(RedisDedupStore(redis.asyncio.Redis.from_url(redis_url)))

    async def log_event(event: WebhookEvent) -> None:
        logger.info("handled %s for document %s", event.event, event.document.id)

    logging.basicConfig(level=logging.INFO)
    return create_app(secrets, log_event, dedup=dedup)
