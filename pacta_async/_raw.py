"""Raw requests: any path, with the client's auth, pacing, retries and typed errors.

This is how to call what a new spec brings before the SDK wraps it. Requests go
through the client's own `httpx.AsyncClient`, whose transport is the one layer that
paces, retries and types errors, so a raw request behaves like every wrapped method.
`client.get(path, cast_to=Model)` parses; `client.with_raw_response.get(...)` keeps the
status and headers; `client.with_streaming_response.get(...)` streams the body.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypedDict, TypeVar, Unpack, overload

import httpx

from ._errors import InvalidInputError
from ._options import request_options
from ._response import APIResponse, Model, parse_body

__all__ = ["RawRequests", "RawResponseRequests", "RequestKwargs", "Requester", "StreamingRequests"]

M = TypeVar("M", bound=Model)
Query = Mapping[str, Any]
# Read by `PactaTransport`: hand the body over unread (retries end once it starts).
STREAM_EXTENSION = "pacta_stream"


class RequestKwargs(TypedDict, total=False):
    """What every raw request takes besides its method, path and `cast_to`.

    `params` and `json` are the request's own query and JSON body; `extra_query` and
    `extra_body` are merged over them (for a parameter the SDK does not know yet), and
    `extra_headers` over the client's headers (Authorization is the client's).
    """

    params: Query | None
    json: Any
    content: bytes | None
    extra_headers: Mapping[str, str] | None
    extra_query: Query | None
    extra_body: Mapping[str, Any] | None
    timeout: float | httpx.Timeout | None
    max_retries: int | None


class Requester:
    """Builds and sends raw requests on the client's configured `httpx.AsyncClient`."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def build(self, method: str, path: str, options: RequestKwargs) -> httpx.Request:
        """Check everything before anything is sent; raises InvalidInputError."""
        method = method.upper()
        if not method.isalpha():
            raise InvalidInputError(f"method must be an HTTP method name, got {method!r}")
        if not path.startswith("/") or path.startswith("//") or "://" in path:
            # An absolute URL would carry the token to whatever host it names.
            raise InvalidInputError(
                f"path must be relative to the base URL and start with '/', got {path!r}",
                field="path",
            )
        headers = dict(options.get("extra_headers") or {})
        if any(name.lower() == "authorization" for name in headers):
            raise InvalidInputError(
                "extra_headers cannot set Authorization: the client sends its own token",
                field="extra_headers",
            )
        query = {**(options.get("params") or {}), **(options.get("extra_query") or {})}
        body = options.get("json")
        extra_body = options.get("extra_body")
        content = options.get("content")
        if extra_body:
            if body is None:
                body = {}
            if not isinstance(body, Mapping):
                raise InvalidInputError(
                    "extra_body needs a JSON object body (json=dict) to merge into",
                    field="extra_body",
                )
            body = {**body, **extra_body}
        if body is not None and content is not None:
            raise InvalidInputError("pass json or content, not both", field="content")
        max_retries = options.get("max_retries")
        if max_retries is not None and max_retries < 0:
            raise InvalidInputError("max_retries must be >= 0", field="max_retries")
        try:
            return self._http.build_request(
                method,
                path.lstrip("/"),
                params=query or None,
                json=body,
                content=content,
                headers=headers,
            )
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"cannot build the request: {exc}") from exc

    async def send(
        self, method: str, path: str, options: RequestKwargs, *, stream: bool = False
    ) -> httpx.Response:
        request = self.build(method, path, options)
        if stream:
            request.extensions[STREAM_EXTENSION] = True
        with request_options(
            timeout=options.get("timeout"), max_retries=options.get("max_retries")
        ):
            # Error statuses never come back: the transport raises them typed.
            return await self._http.send(request, stream=stream)


class RawRequests:
    """`client.request/get/post/put/patch/delete`: the parsed body (JSON, or `cast_to`)."""

    _requester: Requester

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    @overload
    async def request(
        self, method: str, path: str, *, cast_to: type[M], **options: Unpack[RequestKwargs]
    ) -> M: ...
    @overload
    async def request(
        self, method: str, path: str, *, cast_to: type[bytes], **options: Unpack[RequestKwargs]
    ) -> bytes: ...
    @overload
    async def request(
        self, method: str, path: str, *, cast_to: None = None, **options: Unpack[RequestKwargs]
    ) -> Any: ...
    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: type[Any] | None = None,
        **options: Unpack[RequestKwargs],
    ) -> Any:
        """Send `method path` and return its body: decoded JSON, or `cast_to.from_dict(...)`."""
        response = await self._requester.send(method, path, options)
        return parse_body(response, cast_to)

    @overload
    async def get(self, path: str, *, cast_to: type[M], **options: Unpack[RequestKwargs]) -> M: ...
    @overload
    async def get(
        self, path: str, *, cast_to: None = None, **options: Unpack[RequestKwargs]
    ) -> Any: ...
    async def get(
        self, path: str, *, cast_to: type[Any] | None = None, **options: Unpack[RequestKwargs]
    ) -> Any:
        return await self.request("GET", path, cast_to=cast_to, **options)

    @overload
    async def post(self, path: str, *, cast_to: type[M], **options: Unpack[RequestKwargs]) -> M: ...
    @overload
    async def post(
        self, path: str, *, cast_to: None = None, **options: Unpack[RequestKwargs]
    ) -> Any: ...
    async def post(
        self, path: str, *, cast_to: type[Any] | None = None, **options: Unpack[RequestKwargs]
    ) -> Any:
        return await self.request("POST", path, cast_to=cast_to, **options)

    @overload
    async def put(self, path: str, *, cast_to: type[M], **options: Unpack[RequestKwargs]) -> M: ...
    @overload
    async def put(
        self, path: str, *, cast_to: None = None, **options: Unpack[RequestKwargs]
    ) -> Any: ...
    async def put(
        self, path: str, *, cast_to: type[Any] | None = None, **options: Unpack[RequestKwargs]
    ) -> Any:
        return await self.request("PUT", path, cast_to=cast_to, **options)

    @overload
    async def patch(
        self, path: str, *, cast_to: type[M], **options: Unpack[RequestKwargs]
    ) -> M: ...
    @overload
    async def patch(
        self, path: str, *, cast_to: None = None, **options: Unpack[RequestKwargs]
    ) -> Any: ...
    async def patch(
        self, path: str, *, cast_to: type[Any] | None = None, **options: Unpack[RequestKwargs]
    ) -> Any:
        return await self.request("PATCH", path, cast_to=cast_to, **options)

    async def delete(self, path: str, **options: Unpack[RequestKwargs]) -> Any:
        return await self.request("DELETE", path, **options)


class RawResponseRequests:
    """`client.with_raw_response`: the same requests, answered as `APIResponse`."""

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    async def request(
        self, method: str, path: str, **options: Unpack[RequestKwargs]
    ) -> APIResponse:
        return APIResponse(await self._requester.send(method, path, options))

    async def get(self, path: str, **options: Unpack[RequestKwargs]) -> APIResponse:
        return await self.request("GET", path, **options)

    async def post(self, path: str, **options: Unpack[RequestKwargs]) -> APIResponse:
        return await self.request("POST", path, **options)

    async def put(self, path: str, **options: Unpack[RequestKwargs]) -> APIResponse:
        return await self.request("PUT", path, **options)

    async def patch(self, path: str, **options: Unpack[RequestKwargs]) -> APIResponse:
        return await self.request("PATCH", path, **options)

    async def delete(self, path: str, **options: Unpack[RequestKwargs]) -> APIResponse:
        return await self.request("DELETE", path, **options)


class StreamingRequests:
    """`client.with_streaming_response`: `async with ... as response`, body unread.

    The connection goes back to the pool when the block ends, read or not.
    """

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    @contextlib.asynccontextmanager
    async def request(
        self, method: str, path: str, **options: Unpack[RequestKwargs]
    ) -> AsyncIterator[APIResponse]:
        response = await self._requester.send(method, path, options, stream=True)
        try:
            yield APIResponse(response)
        finally:
            await response.aclose()

    def get(
        self, path: str, **options: Unpack[RequestKwargs]
    ) -> contextlib.AbstractAsyncContextManager[APIResponse]:
        return self.request("GET", path, **options)

    def post(
        self, path: str, **options: Unpack[RequestKwargs]
    ) -> contextlib.AbstractAsyncContextManager[APIResponse]:
        return self.request("POST", path, **options)
