"""A Pacta webhook receiver: verify, enqueue, answer 2xx fast, then act once per event.

Pacta waits for the answer and retries anything but a 2xx, so the endpoint does only
the cheap, safe part: read a bounded body, check the secret, parse, put the event on
a queue. A worker started with the app takes events off the queue, skips the ones it
has already handled, and runs your handler.

Run it (the secret is the one set on the webhook subscription):

    PACTA_WEBHOOK_SECRET=... uvicorn --factory examples.webhook_receiver:app_from_env

The queue here is in memory, so events accepted but not yet handled are lost if the
process dies. In production, make "enqueue" durable (a table, a job queue) before
answering 2xx, and let the worker retry failures itself: once Pacta has its 2xx it will
not deliver the event again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from pacta_async import (
    DEFAULT_WEBHOOK_MAX_BODY_BYTES,
    WebhookDeduplicator,
    WebhookEvent,
    WebhookPayloadError,
    WebhookSecret,
    WebhookSignatureError,
    parse_webhook,
)

logger = logging.getLogger("webhook_receiver")

Handler = Callable[[WebhookEvent], Awaitable[None]]


def create_app(
    secret: WebhookSecret,
    handler: Handler,
    *,
    dedup: WebhookDeduplicator | None = None,
    max_body_bytes: int = DEFAULT_WEBHOOK_MAX_BODY_BYTES,
    queue_size: int = 100,
) -> Starlette:
    """A Starlette app receiving deliveries at `POST /webhooks/pacta`.

    Answers 202 once the event is queued, 401 for a missing or wrong secret, 400 for
    a body that is not a Pacta event, 413 for one over `max_body_bytes`, and 503 while
    the queue is full or the app is not running, so that Pacta retries later.
    """
    dedup = dedup if dedup is not None else WebhookDeduplicator()
    queue: MemoryObjectSendStream[WebhookEvent] | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal queue
        send, receive = anyio.create_memory_object_stream[WebhookEvent](queue_size)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_work, receive, handler, dedup)
            async with send:  # closing it on shutdown lets the worker drain the queue
                queue = send
                try:
                    yield
                finally:
                    queue = None

    async def receive_webhook(request: Request) -> Response:
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
        if queue is None:
            return PlainTextResponse("not running", status_code=503)
        try:
            queue.send_nowait(event)
        except anyio.WouldBlock:
            return PlainTextResponse("busy, retry later", status_code=503)
        return Response(status_code=202)

    return Starlette(
        routes=[Route("/webhooks/pacta", receive_webhook, methods=["POST"])],
        lifespan=lifespan,
    )


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


async def _work(
    events: MemoryObjectReceiveStream[WebhookEvent],
    handler: Handler,
    dedup: WebhookDeduplicator,
) -> None:
    async with events:
        async for event in events:
            try:
                async with dedup.once(event) as fresh:
                    if fresh:
                        await handler(event)
            except Exception:
                logger.exception("handler failed for %s", event.dedup_key)


def app_from_env() -> Starlette:
    """The app for `uvicorn --factory`: logs every event it receives."""

    async def log_event(event: WebhookEvent) -> None:
        logger.info("%s for document %s", event.event, event.document.id)

    logging.basicConfig(level=logging.INFO)
    return create_app(os.environ["PACTA_WEBHOOK_SECRET"], log_event)
