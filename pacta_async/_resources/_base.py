"""What every resource shares: the generated client, per-call options, and turning a
success answer into a model, or into a typed error when the body is not Pacta's."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from typing import Any, Protocol, Self, TypeVar

import httpx
from pacta_api.client import Client
from pacta_api.models import Document
from pacta_api.types import Response

from .._errors import PactaError, ResponseValidationError
from .._options import receive_response, request_options
from .._redaction import redacted_response

__all__ = ["CreateOnce", "Resource", "Timeout", "parse_model"]


class _Model(Protocol):
    @classmethod
    def from_dict(cls, src_dict: dict[str, Any]) -> Self: ...


T = TypeVar("T", bound=_Model)
Timeout = float | httpx.Timeout | None
# Makes the document `create()` makes, which carries the given externalId, exactly once.
CreateOnce = Callable[[Callable[[], Awaitable[Document]], str], Awaitable[Document]]

# What the generated parsers raise on a body of the wrong shape: a missing key, a
# null where an object belongs, a date or enum value that does not parse.
_PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError)
_SNIPPET = 200


def _invalid(
    response: httpx.Response, expected: type[Any], problem: str, field: str | None
) -> ResponseValidationError:
    safe = redacted_response(response, response.request)
    snippet = safe.text[:_SNIPPET].strip()
    where = f" (field {field!r})" if field else ""
    content_type = safe.headers.get("content-type", "no content type")
    return ResponseValidationError(
        f"HTTP {response.status_code} answer to {response.request.method} "
        f"{response.request.url.path} is not a valid {expected.__name__}: {problem}{where}; "
        f"{content_type}, body: {snippet!r}. Is the base URL Pacta's API?",
        response=safe,
        field=field,
    )


def _json_object(response: httpx.Response, expected: type[Any]) -> dict[str, Any]:
    try:
        data = json.loads(response.content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise _invalid(response, expected, "not JSON", None) from None
    if not isinstance(data, dict):
        raise _invalid(response, expected, f"a JSON {type(data).__name__}, not an object", None)
    return data


def parse_model(response: httpx.Response, expected: type[T]) -> T:
    """The body as `expected`, or `ResponseValidationError` saying what is wrong with it."""
    data = _json_object(response, expected)
    try:
        return expected.from_dict(data)
    except _PARSE_ERRORS as exc:
        raise _from_parse_error(response, expected, exc) from None


def _from_parse_error(
    response: httpx.Response, expected: type[Any], exc: Exception
) -> ResponseValidationError:
    if isinstance(exc, KeyError) and exc.args:
        return _invalid(response, expected, "a required field is missing", str(exc.args[0]))
    return _invalid(response, expected, f"{type(exc).__name__}: {exc}", None)


class _LazyModels(Iterator[T]):
    """A page's items, each built as it is reached. A malformed one fails this read and
    every later one, so a walk resumed after the error cannot skip past it."""

    def __init__(
        self, response: httpx.Response, items: list[Any], item: type[T], listing: type[Any]
    ) -> None:
        self._response = response
        self._items = iter(items)
        self._item = item
        self._listing = listing
        self._error: ResponseValidationError | None = None

    def __next__(self) -> T:
        if self._error is not None:
            raise self._error
        data = next(self._items)
        try:
            return self._item.from_dict(data)
        except _PARSE_ERRORS as exc:
            self._error = _from_parse_error(self._response, self._listing, exc)
            raise self._error from None


class Resource:
    def __init__(self, api: Client) -> None:
        self._api = api

    async def _call(
        self,
        call: Coroutine[Any, Any, Response[Any]],
        expected: type[T],
        *,
        timeout: Timeout,
        max_retries: int | None,
    ) -> T:
        """Run a generated endpoint call with this call's options and check its result.

        Error statuses never get here: the transport raises them as typed errors. A
        success status other than the documented one (200 for 201, say) is parsed here,
        and so is a body the generated parser could not read, to report it properly.
        """
        with receive_response() as received:
            try:
                response = await self._send(call, timeout=timeout, max_retries=max_retries)
            except PactaError:
                raise
            except _PARSE_ERRORS as exc:
                if received.response is None:
                    raise
                parse_model(received.response, expected)  # says what is wrong, if it can
                raise _from_parse_error(received.response, expected, exc) from None
        parsed = response.parsed
        if isinstance(parsed, expected):
            return parsed
        assert received.response is not None  # the transport records every success
        return parse_model(received.response, expected)

    async def _page(
        self,
        path: str,
        params: Mapping[str, str | int],
        key: str,
        item: type[T],
        listing: type[Any],
        *,
        timeout: Timeout,
        max_retries: int | None,
    ) -> tuple[Iterator[T], int]:
        """One page of a list, as `listing` (`{key: [...], "totalPages": n}`) for the pager.

        Only the JSON is decoded here; each item is built as the pager hands it out, in
        the consumer's own time, while the next page is already on its way, so the next
        request does not wait for every model of this page to be built first. A
        malformed item raises `ResponseValidationError` when it is reached.
        """
        options = request_options(timeout=timeout, max_retries=max_retries)
        with options:
            # Error statuses never come back: the transport raises them typed.
            response = await self._api.get_async_httpx_client().get(path, params=params)
        data = _json_object(response, listing)
        items, total_pages = data.get(key), data.get("totalPages")
        if not isinstance(items, list):
            raise _invalid(response, listing, "a list is missing", key)
        if not isinstance(total_pages, int) or isinstance(total_pages, bool):
            raise _invalid(response, listing, "a page count is missing", "totalPages")
        return _LazyModels(response, items, item, listing), total_pages

    async def _call_no_content(
        self,
        call: Coroutine[Any, Any, Response[Any]],
        *,
        timeout: Timeout,
        max_retries: int | None,
    ) -> None:
        await self._send(call, timeout=timeout, max_retries=max_retries)

    async def _send(
        self,
        call: Coroutine[Any, Any, Response[Any]],
        *,
        timeout: Timeout,
        max_retries: int | None,
    ) -> Response[Any]:
        try:
            options = request_options(timeout=timeout, max_retries=max_retries)
        except BaseException:
            call.close()  # never started: close it rather than leave it unawaited
            raise
        with options:
            return await call
