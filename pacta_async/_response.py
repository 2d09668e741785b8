"""`APIResponse`: what a raw or streaming request gives back, before or after parsing.

The transport has already paced, retried and typed the request, so an `APIResponse` is
always a success (2xx); it keeps the status and headers (`X-RateLimit-Remaining`) that
the parsed object drops.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Protocol, Self, TypeVar, overload

import httpx

from ._errors import APIConnectionError, APITimeoutError, PactaError

__all__ = ["APIResponse", "Model", "parse_body"]


class Model(Protocol):
    """A generated model (`pacta_api.models.*`): anything with `from_dict`."""

    @classmethod
    def from_dict(cls, src_dict: dict[str, Any]) -> Self: ...


M = TypeVar("M", bound=Model)


def parse_body(response: httpx.Response, cast_to: type[Any] | None) -> Any:
    """Decode a read 2xx body: JSON (or None for an empty body), or a generated model."""
    if cast_to is bytes:
        return response.content
    if cast_to is str:
        return response.text
    if not response.content:
        if cast_to is None:
            return None
        raise PactaError(f"{response.status_code} answer has no body; expected {cast_to.__name__}")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        content_type = response.headers.get("content-type", "no content type")
        raise PactaError(
            f"{response.status_code} answer is not JSON ({content_type}); "
            "use cast_to=bytes or a streaming response for binary bodies"
        ) from exc
    if cast_to is None:
        return body
    if not isinstance(body, dict):
        raise PactaError(
            f"{response.status_code} answer is a JSON {type(body).__name__}; "
            f"expected an object for {cast_to.__name__}"
        )
    try:
        return cast_to.from_dict(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise PactaError(
            f"{response.status_code} answer does not match {cast_to.__name__}: {exc!r}"
        ) from exc


class APIResponse:
    """A successful answer with its status and headers.

    From `client.with_raw_response` the body is already read; from
    `client.with_streaming_response` it is not, and `iter_bytes()` reads it in chunks
    (a connection dropped mid-body raises `APIConnectionError`: retries end once the
    body starts, since part of it was already handed over).
    """

    def __init__(self, response: httpx.Response) -> None:
        self.http_response = response

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request(self) -> httpx.Request:
        return self.http_response.request

    @property
    def url(self) -> httpx.URL:
        return self.http_response.url

    @property
    def content(self) -> bytes:
        """The body; on a streaming response, only after `await read()`."""
        return self.http_response.content

    async def read(self) -> bytes:
        try:
            return await self.http_response.aread()
        except httpx.TransportError as exc:
            raise self._interrupted(exc) from exc

    async def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.http_response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.TransportError as exc:
            raise self._interrupted(exc) from exc

    def _interrupted(self, exc: httpx.TransportError) -> APIConnectionError:
        request = self.http_response.request
        where = f"{request.method} {request.url.path}"
        detail = f"the body was interrupted: {type(exc).__name__}; not retried"
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(f"{where}: {detail}", request=request)
        return APIConnectionError(f"{where}: {detail}", request=request)

    @overload
    async def parse(self) -> Any: ...
    @overload
    async def parse(self, cast_to: type[M]) -> M: ...
    @overload
    async def parse(self, cast_to: type[bytes]) -> bytes: ...
    async def parse(self, cast_to: type[Any] | None = None) -> Any:
        """The body as JSON, or as `cast_to` (a generated model, `bytes` or `str`)."""
        await self.read()
        return parse_body(self.http_response, cast_to)

    async def close(self) -> None:
        await self.http_response.aclose()

    def __repr__(self) -> str:
        request = self.http_response.request
        return f"<APIResponse [{self.status_code}] {request.method} {request.url.path}>"
