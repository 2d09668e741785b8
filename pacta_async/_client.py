"""`PactaClient`: configuration, the request stack, and the resources."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Final, Self
from urllib.parse import urlsplit

import anyio
import attrs
import httpx
from anyio.abc import TaskGroup
from pacta_api.client import AuthenticatedClient

from ._batch import Batch
from ._clock import Clock, SystemClock
from ._errors import ConfigurationError, InvalidInputError
from ._logging import setup_logging
from ._ratelimit import RateLimiter, TokenBucketLimiter
from ._raw import RawRequests, RawResponseRequests, Requester, StreamingRequests
from ._resources import Documents, Templates, Webhooks
from ._retry import RetryBudget, RetryEvent, RetryPolicy
from ._routes import DEFAULT_SEND_ROUTES, SendRoutes
from ._transport import PactaTransport
from ._validation import check_url

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "PactaClient"]

DEFAULT_BASE_URL: Final = "https://sign.pacta.ink/api/v1"
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)
DEFAULT_CONNECTION_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20)
_API_PATH = "/api/v1"


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


_DEFAULT: Final = _Default()


def _check_token(token: str | None) -> str:
    token = token if token is not None else os.environ.get("PACTA_API_TOKEN")
    if not token:
        raise ConfigurationError(
            "no API token: pass token=... or set PACTA_API_TOKEN "
            "(Pacta → Team Settings → API Tokens)"
        )
    if token.lower().startswith("bearer"):
        raise ConfigurationError(
            "pass the raw token (api_...) without the 'Bearer' prefix: "
            "Pacta expects it directly in the Authorization header"
        )
    if token != token.strip() or any(c in token for c in "\r\n\t "):
        raise ConfigurationError("the API token contains whitespace; check how it was copied")
    return token


def _check_base_url(base_url: str | None, allow_insecure_http: bool) -> str:
    url = (base_url or os.environ.get("PACTA_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(url)
    try:
        check_url(url, "base_url", allow_insecure_http=allow_insecure_http)
    except InvalidInputError as exc:
        # The token would travel in the clear: only on the user's explicit say-so.
        hint = "; pass allow_insecure_http=True to send the token anyway"
        message = exc.message + (hint if parts.scheme == "http" else "")
        raise ConfigurationError(message) from None
    # Accept the instance URL too (https://pacta.example.com): the API lives under /api/v1.
    return url if parts.path.endswith(_API_PATH) else url + _API_PATH


def _redacted(token: str) -> str:
    return f"{token[:4]}...{token[-4:]}" if len(token) > 12 else "***"


class _HttpClientTransport(httpx.AsyncBaseTransport):
    """Sends through a user's own `httpx.AsyncClient`, keeping its settings (proxies,
    TLS, event hooks) while our layer stays on top. The user's client is theirs to close.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request, stream=True, follow_redirects=False)


class PactaClient(RawRequests):
    """An async client for the Pacta API.

    Use it as `async with PactaClient() as client:`, or call `aclose()` when done.
    Every request goes through one layer that paces it under the token's rate limits,
    retries what is safe to retry, and turns error answers into typed exceptions.

    `rate_limiter`: by default each client paces itself at Pacta's limits; pass one
    `TokenBucketLimiter` to every client sharing a token, a `RedisRateLimiter` to share
    it across processes, or None to switch pacing off.

    `timeout` limits each attempt (as in httpx); `total_timeout` limits a whole call,
    pacing, retries and waits included, and raises `APITimeoutError` saying where the
    time went. A number passed as a call's own `timeout=` is that call's total timeout.
    `retry_policy` sets the retry counts, backoff and the longest `Retry-After` waited
    out; `max_retries` sets both of its counts (5xx and 429) at once.

    `send_routes`: the requests that count against the send limit too, as
    ``"POST /documents/{documentId}/send"`` (Pacta's two sends by default); extend it
    when a new send-like endpoint appears.

    `request/get/post/put/patch/delete(path, cast_to=...)` send any request through
    the same stack (see `RawRequests`); `with_raw_response` and
    `with_streaming_response` keep status and headers; `generated_client` calls
    generated endpoint functions.
    """

    documents: Documents
    templates: Templates
    webhooks: Webhooks
    batch: Batch
    with_raw_response: RawResponseRequests
    with_streaming_response: StreamingRequests

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        total_timeout: float | None = None,
        retry_policy: RetryPolicy | None = None,
        rate_limiter: RateLimiter | _Default | None = _DEFAULT,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_insecure_http: bool = False,
        on_retry: Callable[[RetryEvent], None] | None = None,
        retry_budget: RetryBudget | None = None,
        clock: Clock | None = None,
        send_routes: Iterable[str] | None = None,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass http_client or transport, not both")
        policy = retry_policy or RetryPolicy()
        if max_retries is not None:
            if max_retries < 0:
                raise ConfigurationError("max_retries must be >= 0")
            policy = attrs.evolve(
                policy, max_retries=max_retries, max_rate_limit_retries=max_retries
            )
        if total_timeout is not None and not (total_timeout > 0 and math.isfinite(total_timeout)):
            raise ConfigurationError(
                f"total_timeout must be a positive number, got {total_timeout!r}"
            )
        setup_logging()
        self._token = _check_token(token)
        self.base_url = _check_base_url(base_url, allow_insecure_http)
        self._clock = clock or SystemClock()
        if isinstance(rate_limiter, _Default):
            rate_limiter = TokenBucketLimiter(clock=self._clock)
        self.rate_limiter = rate_limiter
        inner: httpx.AsyncBaseTransport
        if http_client is not None:
            inner = _HttpClientTransport(http_client)
        else:
            inner = transport or httpx.AsyncHTTPTransport(limits=DEFAULT_CONNECTION_LIMITS)
        self._inner = inner
        self._timeout = httpx.Timeout(timeout)
        self._policy = policy
        self._total_timeout = total_timeout
        self._retry_budget = retry_budget or RetryBudget(clock=self._clock)
        self._on_retry = on_retry
        self.send_routes = SendRoutes(DEFAULT_SEND_ROUTES if send_routes is None else send_routes)
        self._task_group: TaskGroup | None = None
        self._root = self
        self._connect()

    def _connect(self) -> None:
        """Build the request stack over the (possibly shared) inner transport."""
        self._transport = PactaTransport(
            self._inner,
            clock=self._clock,
            policy=self._policy,
            budget=self._retry_budget,
            limiter=self.rate_limiter,
            on_retry=self._on_retry,
            total_timeout=self._total_timeout,
            is_send=self.send_routes,
        )
        self._api = AuthenticatedClient(
            base_url=self.base_url,
            token=self._token,
            prefix="",  # Pacta wants the raw token, no "Bearer"
            timeout=self._timeout,
            follow_redirects=False,
            raise_on_unexpected_status=True,
            httpx_args={"transport": self._transport},
        )
        background = self._background
        self.documents = Documents(self._api, background)
        self.templates = Templates(self._api, background)
        self.webhooks = Webhooks(self._api, background)
        self.batch = Batch(self.documents, self.templates, self._clock)
        requester = Requester(self._api.get_async_httpx_client())
        self._requester = requester
        self.with_raw_response = RawResponseRequests(requester)
        self.with_streaming_response = StreamingRequests(requester)

    @property
    def generated_client(self) -> AuthenticatedClient:
        """The generated low-level client (`pacta_api`), configured with this client's
        token, base URL, timeout and request stack: pass it as ``client=`` to any
        generated endpoint function (``pacta_api.api.*``) to get pacing, retries and
        typed errors for an endpoint the SDK does not wrap yet."""
        return self._api

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | _Default = _DEFAULT,
        max_retries: int | _Default = _DEFAULT,
    ) -> PactaClient:
        """A copy with other defaults, sharing this client's connections, rate limiter
        and retry budget (so both stay paced as one). Close the original, not the copy.
        """
        if not isinstance(max_retries, _Default) and max_retries < 0:
            raise ConfigurationError("max_retries must be >= 0")
        clone = copy.copy(self)
        if not isinstance(timeout, _Default):
            clone._timeout = httpx.Timeout(timeout)
        if not isinstance(max_retries, _Default):
            clone._policy = attrs.evolve(
                self._policy, max_retries=max_retries, max_rate_limit_retries=max_retries
            )
        clone._connect()
        return clone

    def _background(self) -> TaskGroup | None:
        return self._root._task_group

    def __repr__(self) -> str:
        return f"PactaClient(base_url={self.base_url!r}, token={_redacted(self._token)!r})"

    async def __aenter__(self) -> Self:
        # Background work (prefetching the next page) runs here, and ends with the client.
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task_group, self._task_group = self._task_group, None
        try:
            if task_group is not None:
                task_group.cancel_scope.cancel()
                # The body's own exception propagates unchanged, not in an ExceptionGroup:
                # background tasks never raise, so the group has nothing to add.
                await task_group.__aexit__(None, None, None)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close connections. A client given an `http_client` leaves it open; a copy from
        `with_options` leaves them to the original."""
        if self._root is not self:
            return
        await self._api.get_async_httpx_client().aclose()
