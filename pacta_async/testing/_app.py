"""The HTTP API: Starlette routes over `State`, with auth, rate limits and error bodies.

Every route is named by its path in the spec (``/documents/{documentId}/send``),
which is also how fault rules name it (``"POST /documents/{documentId}/send"``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._errors import ApiError, validation_error
from ._limits import RateLimited, RateLimiter
from ._middleware import RateLimitHeaders
from ._spec import spec_bytes
from ._state import MAX_UPLOAD_BYTES, State
from ._validation import (
    UploadInput,
    field_input,
    generate_input,
    page_params,
    recipient_input,
    send_email,
    status_filter,
    upload_input,
    webhook_input,
)

__all__ = ["PREFIX", "build_app"]

PREFIX = "/api/v1"

_logger = logging.getLogger("pacta_async.testing")
_Handler = Callable[[Request, int], Awaitable[Response]]


@attrs.frozen
class _Operation:
    handler: _Handler
    send: bool = False  # counts against the send limit as well


def _error(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def _rate_limited(refusal: RateLimited) -> JSONResponse:
    error = ApiError(
        429,
        "RATE_LIMITED",
        f"Rate limit exceeded: {refusal.limit} {refusal.scope} requests per minute",
        {"scope": refusal.scope, "limit": refusal.limit, "retryAfter": refusal.retry_after},
    )
    return _error(error, {"Retry-After": str(refusal.retry_after)})


async def _json(request: Request, *, optional: bool = False) -> Any:
    body = await request.body()
    if not body.strip():
        if optional:
            return {}
        raise validation_error("body", "A JSON body is required")
    try:
        return json.loads(body)
    except ValueError:
        raise validation_error("body", "The body is not valid JSON") from None


async def _upload(request: Request) -> UploadInput:
    """The multipart form of a document or template upload."""
    parts: dict[str, str] = {}
    pdf: bytes | None = None
    try:
        async with request.form(max_files=10, max_fields=10_000) as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if key == "file":
                        pdf = await value.read(MAX_UPLOAD_BYTES + 1)
                else:
                    parts[key] = value
    except HTTPException as exc:  # malformed multipart
        raise validation_error("body", f"The body is not valid multipart: {exc.detail}") from None
    if pdf is None:
        raise validation_error("file", "file is required: a PDF sent as a file part")
    return upload_input(parts, pdf)


def _created(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=201)


def _routes(state: State) -> list[tuple[str, str, dict[str, _Operation]]]:
    """(spec path, Starlette path, operations by method) for every endpoint."""

    def document_id(request: Request) -> int:
        return int(request.path_params["documentId"])

    def template_id(request: Request) -> int:
        return int(request.path_params["templateId"])

    async def list_documents(request: Request, team: int) -> Response:
        query = request.query_params
        return JSONResponse(state.list_documents(team, page_params(query), status_filter(query)))

    async def create_document(request: Request, team: int) -> Response:
        return _created(state.create_document(team, await _upload(request)))

    async def get_document(request: Request, team: int) -> Response:
        return JSONResponse(state.get_document(team, document_id(request)))

    async def delete_document(request: Request, team: int) -> Response:
        state.delete_document(team, document_id(request))
        return Response(status_code=204)

    async def send_document(request: Request, team: int) -> Response:
        flag = send_email(await _json(request, optional=True))
        return JSONResponse(state.send_document(team, document_id(request), flag))

    async def duplicate_document(request: Request, team: int) -> Response:
        return _created(state.duplicate_document(team, document_id(request)))

    async def download_document(request: Request, team: int) -> Response:
        original = request.query_params.get("original", "false")
        if original not in ("true", "false"):
            raise validation_error("original", "original must be true or false")
        return JSONResponse(state.download_link(team, document_id(request), original == "true"))

    async def list_recipients(request: Request, team: int) -> Response:
        return JSONResponse(state.list_recipients(team, document_id(request)))

    async def create_recipient(request: Request, team: int) -> Response:
        recipient = recipient_input(await _json(request))
        return _created(state.add_recipient(team, document_id(request), recipient))

    async def list_fields(request: Request, team: int) -> Response:
        return JSONResponse(state.list_fields(team, document_id(request)))

    async def create_field(request: Request, team: int) -> Response:
        field = field_input(await _json(request))
        return _created(state.add_field(team, document_id(request), field))

    async def create_embed_token(request: Request, team: int) -> Response:
        recipient = int(request.path_params["recipientId"])
        return _created(state.create_embed_token(team, document_id(request), recipient))

    async def list_templates(request: Request, team: int) -> Response:
        return JSONResponse(state.list_templates(team, page_params(request.query_params)))

    async def create_template(request: Request, team: int) -> Response:
        return _created(state.create_template(team, await _upload(request)))

    async def generate(request: Request, team: int) -> Response:
        body = generate_input(await _json(request))
        return _created(state.generate(team, template_id(request), body))

    async def direct_link(request: Request, team: int) -> Response:
        return _created(state.direct_link(team, template_id(request)))

    async def list_webhooks(request: Request, team: int) -> Response:
        return JSONResponse(state.list_webhooks(team))

    async def create_webhook(request: Request, team: int) -> Response:
        return _created(
            state.create_webhook(team, webhook_input(await _json(request), update=False))
        )

    async def update_webhook(request: Request, team: int) -> Response:
        body = webhook_input(await _json(request), update=True)
        return JSONResponse(state.update_webhook(team, request.path_params["webhookId"], body))

    async def delete_webhook(request: Request, team: int) -> Response:
        state.delete_webhook(team, request.path_params["webhookId"])
        return Response(status_code=204)

    document = "/documents/{documentId:int}"
    return [
        (
            "/documents",
            "/documents",
            {"GET": _Operation(list_documents), "POST": _Operation(create_document)},
        ),
        (
            "/documents/{documentId}",
            document,
            {"GET": _Operation(get_document), "DELETE": _Operation(delete_document)},
        ),
        (
            "/documents/{documentId}/send",
            f"{document}/send",
            {"POST": _Operation(send_document, send=True)},
        ),
        (
            "/documents/{documentId}/duplicate",
            f"{document}/duplicate",
            {"POST": _Operation(duplicate_document)},
        ),
        (
            "/documents/{documentId}/download",
            f"{document}/download",
            {"GET": _Operation(download_document)},
        ),
        (
            "/documents/{documentId}/recipients",
            f"{document}/recipients",
            {"GET": _Operation(list_recipients), "POST": _Operation(create_recipient)},
        ),
        (
            "/documents/{documentId}/fields",
            f"{document}/fields",
            {"GET": _Operation(list_fields), "POST": _Operation(create_field)},
        ),
        (
            "/documents/{documentId}/recipients/{recipientId}/embed-token",
            f"{document}/recipients/{{recipientId:int}}/embed-token",
            {"POST": _Operation(create_embed_token)},
        ),
        (
            "/templates",
            "/templates",
            {"GET": _Operation(list_templates), "POST": _Operation(create_template)},
        ),
        (
            "/templates/{templateId}/generate",
            "/templates/{templateId:int}/generate",
            {"POST": _Operation(generate, send=True)},
        ),
        (
            "/templates/{templateId}/direct-link",
            "/templates/{templateId:int}/direct-link",
            {"POST": _Operation(direct_link)},
        ),
        (
            "/webhooks",
            "/webhooks",
            {"GET": _Operation(list_webhooks), "POST": _Operation(create_webhook)},
        ),
        (
            "/webhooks/{webhookId}",
            "/webhooks/{webhookId}",
            {"PATCH": _Operation(update_webhook), "DELETE": _Operation(delete_webhook)},
        ),
    ]


def _endpoint(
    state: State, limiter: RateLimiter, operations: dict[str, _Operation]
) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, charge the rate limits, run the operation, and answer errors as JSON."""

    async def endpoint(request: Request) -> Response:
        operation = operations["GET" if request.method == "HEAD" else request.method]
        try:
            token = request.headers.get("authorization")
            team = state.authenticate(token)
            assert token is not None
            refusal = limiter.acquire(token, send=operation.send)
            if refusal is not None:
                return _rate_limited(refusal)
            return await operation.handler(request, team)
        except ApiError as error:
            return _error(error)
        except ClientDisconnect:
            # Gone before its body arrived (it gave up waiting): nothing was processed, and
            # nobody reads the answer. Not a server failure.
            return Response(status_code=499)
        except Exception:
            _logger.exception("the reference server failed on %s %s", request.method, request.url)
            return _error(ApiError(500, "INTERNAL_ERROR", "Internal server error"))

    return endpoint


async def _openapi(request: Request) -> Response:
    return Response(spec_bytes(), media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Paths and methods that match no route, answered in Pacta's error format."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = ApiError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")
    else:
        error = ApiError(exc.status_code, "NOT_FOUND", "No such endpoint")
    return _error(error, dict(exc.headers or {}))


def build_app(state: State, limiter: RateLimiter) -> Starlette:
    routes = [
        Route(
            PREFIX + path,
            _endpoint(state, limiter, operations),
            methods=list(operations),
            name=name,
        )
        for name, path, operations in _routes(state)
    ]
    routes.append(Route(f"{PREFIX}/openapi", _openapi, methods=["GET"], name="/openapi"))
    return Starlette(
        routes=routes,
        middleware=[Middleware(RateLimitHeaders, limiter=limiter)],
        exception_handlers={HTTPException: _http_error},
    )
