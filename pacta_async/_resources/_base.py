"""What every resource shares: the generated client, somewhere to run background work,
and per-call options."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, Self, TypeVar

import httpx
from anyio.abc import TaskGroup
from pacta_api.client import AuthenticatedClient
from pacta_api.errors import UnexpectedStatus
from pacta_api.types import Response

from .._errors import PactaError
from .._options import request_options

__all__ = ["Background", "Resource", "Timeout"]


class _Model(Protocol):
    @classmethod
    def from_dict(cls, src_dict: dict[str, Any]) -> Self: ...


T = TypeVar("T", bound=_Model)
Timeout = float | httpx.Timeout | None
Background = Callable[[], TaskGroup | None]
"""Where a pager may prefetch: the client's task group while it is open, else None."""


class Resource:
    def __init__(self, api: AuthenticatedClient, background: Background) -> None:
        self._api = api
        self._background = background

    async def _call(
        self,
        call: Awaitable[Response[Any]],
        expected: type[T],
        *,
        timeout: Timeout,
        max_retries: int | None,
    ) -> T:
        """Run a generated endpoint call with this call's options and check its result.

        Error statuses never get here: the transport raises them as typed errors.
        """
        response = await self._send(call, timeout=timeout, max_retries=max_retries)
        if isinstance(response, UnexpectedStatus):
            return expected.from_dict(json.loads(response.content))
        parsed = response.parsed
        if not isinstance(parsed, expected):
            raise PactaError(
                f"unexpected {response.status_code} answer: expected {expected.__name__}, "
                f"got {type(parsed).__name__}"
            )
        return parsed

    async def _call_no_content(
        self, call: Awaitable[Response[Any]], *, timeout: Timeout, max_retries: int | None
    ) -> None:
        await self._send(call, timeout=timeout, max_retries=max_retries)

    async def _send(
        self, call: Awaitable[Response[Any]], *, timeout: Timeout, max_retries: int | None
    ) -> Response[Any] | UnexpectedStatus:
        """Run the call with this call's options.

        A success status other than the documented one (200 for 201) comes back as the
        generated client's `UnexpectedStatus`, which still holds the body to parse.
        """
        with request_options(timeout=timeout, max_retries=max_retries):
            try:
                return await call
            except UnexpectedStatus as exc:
                if not 200 <= exc.status_code < 300:
                    raise
                return exc
