"""The control API over HTTP, for a receiver tested from another process.

What signers do (sign, reject, every signer at once) and the delivery log, under
``/_control/`` beside the Pacta API. A call needs the API token of the team that
owns the document, so one standalone server can serve several tests at once.
Outside the fault layer: a test's own steps never meet the faults it injects.

    POST /_control/documents/{id}/sign      {"recipientId": 3}
    POST /_control/documents/{id}/reject    {"recipientId": 3}
    POST /_control/documents/{id}/complete  every pending signer signs, in one millisecond
    GET  /_control/deliveries               {"deliveries": [...]} of the team's webhooks
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._deliveries import Deliveries
from ._errors import ApiError, validation_error
from ._state import State

__all__ = ["CONTROL_PREFIX", "WithControl"]

CONTROL_PREFIX: Final = "/_control"


def _recipient_id(body: bytes) -> int:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise validation_error("body", "The body is not valid JSON") from None
    value = data.get("recipientId") if isinstance(data, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation_error("recipientId", "recipientId is required: an integer")
    return value


def _control_app(state: State, deliveries: Deliveries) -> Starlette:
    Action = Callable[[Request, int], Awaitable[Response]]

    def endpoint(action: Action) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                team = state.authenticate(request.headers.get("authorization"))
                return await action(request, team)
            except ApiError as error:
                return JSONResponse(error.body(), status_code=error.status)

        return run

    def document_id(request: Request, team: int) -> int:
        """The path's document, checked to belong to the caller's team."""
        document = int(request.path_params["documentId"])
        state.get_document(team, document)
        return document

    async def sign(request: Request, team: int) -> Response:
        document = document_id(request, team)
        state.sign(document, _recipient_id(await request.body()))
        return JSONResponse(state.document(document))

    async def reject(request: Request, team: int) -> Response:
        document = document_id(request, team)
        state.reject(document, _recipient_id(await request.body()))
        return JSONResponse(state.document(document))

    async def complete(request: Request, team: int) -> Response:
        document = document_id(request, team)
        state.complete(document)
        return JSONResponse(state.document(document))

    async def list_deliveries(request: Request, team: int) -> Response:
        mine = {webhook["id"] for webhook in state.list_webhooks(team)["webhooks"]}
        found: list[dict[str, Any]] = [
            attrs.asdict(d) for d in deliveries.snapshot() if d.webhook_id in mine
        ]
        return JSONResponse({"deliveries": found})

    document = CONTROL_PREFIX + "/documents/{documentId:int}"
    return Starlette(
        routes=[
            Route(f"{document}/sign", endpoint(sign), methods=["POST"]),
            Route(f"{document}/reject", endpoint(reject), methods=["POST"]),
            Route(f"{document}/complete", endpoint(complete), methods=["POST"]),
            Route(CONTROL_PREFIX + "/deliveries", endpoint(list_deliveries), methods=["GET"]),
        ]
    )


class WithControl:
    """Serves ``/_control/...`` from the control API and everything else from `api`."""

    def __init__(self, api: ASGIApp, state: State, deliveries: Deliveries) -> None:
        self._api = api
        self._control = _control_app(state, deliveries)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CONTROL_PREFIX + "/"):
            await self._control(scope, receive, send)
        else:
            await self._api(scope, receive, send)
