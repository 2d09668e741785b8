"""`PactaClient`: configuration, the request stack, and the resources."""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Final, NoReturn, Self
from urllib.parse import urlsplit

import attrs
import httpx
from pacta_api.client import Client

from ._batch import Account, Batch, token_hash
from ._batch._batch import SETTLE_MARGIN
from ._batch._single import create_once
from ._clock import Clock, SystemClock
from ._download import FileStorage
from ._errors import ClientClosedError, ConfigurationError, InvalidInputError
from ._http import ApiHttpClient
from ._logging import setup_logging
from ._options import NOT_GIVEN, NotGiven
from ._ratelimit import RateLimiter, TokenBucketLimiter
from ._raw import RawRequests, RawResponseRequests, Requester, StreamingRequests
from ._resources import Documents, Templates, Webhooks
from ._retry import RetryBudget, RetryEvent, RetryPolicy
from ._routes import DEFAULT_SEND_ROUTES, SendRoutes
from ._transport import Lifetime, PactaTransport
from ._validation import check_max_retries, check_timeout, check_url
from ._version import __version__
from .types import Document

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "PactaClient"]

DEFAULT_BASE_URL: Final = "https://sign.pacta.ink/api/v1"
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)
DEFAULT_CONNECTION_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20)
USER_AGENT: Final = f"pacta-async/{__version__}"


def _check_token(token: object) -> str:
    token = token if token is not None else os.environ.get("PACTA_API_TOKEN")
    if token is not None and not isinstance(token, str):
        # Not echoed: whatever it is, it may be the secret in another form (bytes).
        raise ConfigurationError(
            f"the API token must be a str (api_...), got {type(token).__name__}"
        )
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
    if not token.isascii() or not token.isprintable():
        raise ConfigurationError("the API token contains characters a token never has")
    return token


_API_PATH = "/api/v1"
_BASE_URL_FORMS = (
    "the instance URL (https://pacta.example.com) or the API URL (https://pacta.example.com/api/v1)"
)


def _base_url_problem(url: str) -> str | None:
    """What makes `url` neither an instance URL nor an API URL, if anything."""
    if url != url.strip() or any(c.isspace() for c in url):
        return "it contains whitespace"
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return "it contains credentials; the token is the only credential Pacta takes"
    if parts.query or url.endswith("?"):
        return "it has a query string"
    if parts.fragment or "#" in url:
        return "it has a fragment"
    if "//" in parts.path:
        return "its path has an empty segment (//)"
    segments = [segment for segment in parts.path.split("/") if segment]
    if ("api" in segments and segments[-2:] != ["api", "v1"]) or segments.count("api") > 1:
        return "its path is neither an instance's nor the API's (it must end at /api/v1)"
    return None


def _shown(url: str) -> str:
    """The URL for an error message, without any password in it."""
    parts = urlsplit(url)
    if parts.password is None:
        return repr(url)
    host = parts.netloc.rpartition("@")[2]
    return repr(parts._replace(netloc=f"{parts.username}:***@{host}").geturl())


def _check_base_url(base_url: object, allow_insecure_http: bool) -> str:
    url = base_url if base_url is not None else os.environ.get("PACTA_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(url, str):
        raise ConfigurationError(f"base_url must be a str, got {type(url).__name__}")
    problem = _base_url_problem(url)
    if problem is not None:
        raise ConfigurationError(
            f"base_url must be {_BASE_URL_FORMS}; got {_shown(url)}: {problem}"
        )
    # One trailing slash is how URLs are often written; it means the same.
    url = url.removesuffix("/")
    parts = urlsplit(url)
    try:
        check_url(url, "base_url", allow_insecure_http=allow_insecure_http)
    except InvalidInputError as exc:
        # The token would travel in the clear: only on the user's explicit say-so.
        hint = "; pass allow_insecure_http=True to send the token anyway"
        message = exc.message + (hint if parts.scheme == "http" else "")
        raise ConfigurationError(message) from None
    # The instance URL (https://pacta.example.com): the API lives under /api/v1.
    return url if parts.path.endswith(_API_PATH) else url + _API_PATH


def _longest_request(timeout: httpx.Timeout) -> float:
    """How long a request can take before the client gives up (no read timeout: 5 min)."""
    return (timeout.connect or 0.0) + (timeout.write or 0.0) + (timeout.read or 300.0)


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
    rate_limiter: RateLimiter | None
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
        rate_limiter: RateLimiter | NotGiven | None = NOT_GIVEN,
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
        try:
            if max_retries is not None:
                max_retries = check_max_retries(max_retries)
                policy = attrs.evolve(
                    policy, max_retries=max_retries, max_rate_limit_retries=max_retries
                )
            checked_timeout = check_timeout(timeout, "timeout")
        except InvalidInputError as exc:
            raise ConfigurationError(exc.message) from None
        if total_timeout is not None and not (
            isinstance(total_timeout, int | float)
            and not isinstance(total_timeout, bool)
            and total_timeout > 0
            and math.isfinite(total_timeout)
        ):
            raise ConfigurationError(
                f"total_timeout must be a positive number, got {total_timeout!r}"
            )
        setup_logging()
        self._token = _check_token(token)
        self.base_url = _check_base_url(base_url, allow_insecure_http)
        self._clock = clock or SystemClock()
        if isinstance(rate_limiter, NotGiven):
            rate_limiter = TokenBucketLimiter(clock=self._clock)
        self.rate_limiter = rate_limiter
        inner: httpx.AsyncBaseTransport
        if http_client is not None:
            inner = _HttpClientTransport(http_client)
        else:
            inner = transport or httpx.AsyncHTTPTransport(limits=DEFAULT_CONNECTION_LIMITS)
        self._inner = inner
        self._timeout = checked_timeout or httpx.Timeout(None)
        self._policy = policy
        self._total_timeout = total_timeout
        self._retry_budget = retry_budget or RetryBudget(clock=self._clock)
        self._on_retry = on_retry
        self.send_routes = SendRoutes(DEFAULT_SEND_ROUTES if send_routes is None else send_routes)
        self._root = self
        self._lifetime = Lifetime()
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
            lifetime=self._lifetime,
        )
        # The token lives only in the httpx client's headers, whose repr hides it; the
        # generated client gets no token (its attrs repr would print it).
        self._api = Client(base_url=self.base_url, raise_on_unexpected_status=False)
        http = ApiHttpClient(
            base_url=self.base_url,
            headers={"Authorization": self._token, "User-Agent": USER_AGENT},
            timeout=self._timeout,
            transport=self._transport,
        )
        self._api.set_async_httpx_client(http)
        storage = FileStorage(
            self._inner,
            timeout=self._timeout,
            policy=self._policy,
            clock=self._clock,
            lifetime=self._lifetime,
            user_agent=USER_AGENT,
        )
        self.documents = Documents(self._api, storage, self._clock, create_once=self._create_once)
        self.templates = Templates(self._api, create_once=self._create_once)
        self.webhooks = Webhooks(self._api)
        self.batch = Batch(
            self.documents,
            self.templates,
            self._clock,
            account=Account(self.base_url, token_hash(self._token)),
            request_time=_longest_request(self._timeout),
        )
        requester = Requester(http)
        self._requester = requester
        self.with_raw_response = RawResponseRequests(requester)
        self.with_streaming_response = StreamingRequests(requester)

    async def _create_once(
        self, create: Callable[[], Awaitable[Document]], external_id: str
    ) -> Document:
        settle = _longest_request(self._timeout) + SETTLE_MARGIN
        return await create_once(
            self.documents, self.templates, self._clock, create, external_id, settle=settle
        )

    @property
    def generated_client(self) -> Client:
        """The generated low-level client (`pacta_api`), configured with this client's
        base URL, timeout and request stack (the token rides in its httpx client's
        headers): pass it as ``client=`` to any generated endpoint function
        (``pacta_api.api.*``) to get pacing, retries and typed errors for an endpoint
        the SDK does not wrap yet."""
        return self._api

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> PactaClient:
        """A copy with other defaults, sharing this client's connections, rate limiter
        and retry budget (so both stay paced as one). Close the original, not the copy.
        """
        clone = object.__new__(type(self))  # not copy.copy: that goes through __reduce__
        vars(clone).update(vars(self))
        try:
            if not isinstance(timeout, NotGiven):
                clone._timeout = check_timeout(timeout, "timeout") or httpx.Timeout(None)
            if not isinstance(max_retries, NotGiven):
                retries = check_max_retries(max_retries)
                clone._policy = attrs.evolve(
                    self._policy, max_retries=retries, max_rate_limit_retries=retries
                )
        except InvalidInputError as exc:
            raise ConfigurationError(exc.message) from None
        clone._connect()
        return clone

    def __repr__(self) -> str:
        return f"PactaClient(base_url={self.base_url!r}, token={_redacted(self._token)!r})"

    def __reduce__(self) -> NoReturn:
        # Pickling would write the token out; a client also holds open connections.
        raise TypeError("a PactaClient cannot be pickled; create one in each process")

    async def __aenter__(self) -> Self:
        # Nothing is bound to the entering task, as with httpx.AsyncClient: a fixture or
        # a lifespan may enter in one task and exit in another.
        if self.is_closed:
            raise ClientClosedError("the client is closed; create a new PactaClient")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def is_closed(self) -> bool:
        return self._lifetime.closed

    async def aclose(self) -> None:
        """Close connections; later requests raise `ClientClosedError`. Safe to call twice.

        A client given an `http_client` leaves it open; a copy from `with_options`
        leaves them to the original.
        """
        if self._root is self:
            await self._transport.aclose()
