"""The exceptions pacta_async raises.

Every error is a `PactaError`, so `except pacta_async.PactaError` catches them all:

    PactaError
    ├── InvalidInputError        bad arguments, caught before anything is sent
    ├── ConfigurationError       a client that cannot be built safely (token, URL)
    ├── ClientClosedError        a request on a client after `aclose()`
    ├── EventLoopMismatchError   a client used from a second event loop
    ├── ResponseValidationError  a success answer that is not the JSON Pacta sends
    ├── RateLimiterUnavailableError  the shared limiter's Redis is down (fail closed)
    ├── JournalError             a batch journal that cannot be used; nothing was sent
    ├── UnknownOutcomeError      a batch send that may or may not have happened
    ├── WebhookError             a webhook delivery that must not be trusted
    │   ├── WebhookSignatureError    missing or wrong X-Pacta-Secret
    │   └── WebhookPayloadError      malformed or oversize body
    ├── DedupStoreUnavailableError   the shared webhook dedup store's Redis is down
    ├── APIConnectionError       the request may not have reached Pacta
    │   ├── APITimeoutError
    │   └── IncompleteDownloadError  a file from storage shorter than its Content-Length
    └── APIStatusError           Pacta answered with a 4xx/5xx status
        ├── BadRequestError            400
        │   ├── InvalidDocumentStatusError  400 INVALID_DOCUMENT_STATUS
        │   └── InvalidFileError            400 INVALID_FILE
        ├── AuthenticationError        401
        ├── PermissionDeniedError      403
        │   └── PlanRequiredError           403 PLAN_REQUIRED
        ├── NotFoundError              404
        ├── RateLimitError             429
        └── ServerError                5xx

`APIStatusError` subclasses are picked by status and then by Pacta's stable `code`,
so callers can catch as broadly or as narrowly as they need.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ._headers import parse_retry_after

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "DedupStoreUnavailableError",
    "EventLoopMismatchError",
    "IncompleteDownloadError",
    "InvalidDocumentStatusError",
    "InvalidFileError",
    "InvalidInputError",
    "JournalError",
    "NotFoundError",
    "PactaError",
    "PermissionDeniedError",
    "PlanRequiredError",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "ResponseValidationError",
    "ServerError",
    "ServerUnreachableError",
    "UnknownOutcomeError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "status_error_from_response",
]

_BODY_SNIPPET = 200


class PactaError(Exception):
    """Base class of every exception raised by pacta_async.

    Errors pickle and unpickle (multiprocessing, Celery) with their attributes, although
    most take keyword-only arguments that the default `Exception` pickling cannot pass.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[PactaError], args: tuple[Any, ...], state: dict[str, Any]) -> PactaError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidInputError(PactaError, ValueError):
    """An argument was rejected locally; nothing was sent to Pacta.

    `field` names the offending argument the way Pacta would
    (for example ``recipients[0].email``).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigurationError(PactaError, ValueError):
    """The client cannot be built safely, for example a missing token or a plain-http URL."""


class ClientClosedError(PactaError, RuntimeError):
    """The client was closed (`aclose()` or the end of `async with`); nothing was sent."""


class EventLoopMismatchError(PactaError, RuntimeError):
    """The client was used from an event loop other than the one it first ran in.

    Its connections belong to that first loop; create one client per event loop
    (for example per test, when each test gets its own loop). Nothing was sent.
    """


class ResponseValidationError(PactaError):
    """Pacta answered with a success status, but the body is not what Pacta sends.

    Usually the base URL points somewhere else (a login page, a captive portal, a
    proxy), or a field is missing. `status_code`, `field` (the JSON field at fault,
    when known), `response` and `request` describe it; the token is redacted from both.
    """

    def __init__(self, message: str, *, response: httpx.Response, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.request = response.request
        self.status_code = response.status_code
        self.field = field


class RateLimiterUnavailableError(PactaError):
    """The shared limiter's Redis cannot be reached and no fallback was configured.

    Failing closed means no request goes out unpaced; the request was not sent.
    """


class JournalError(PactaError):
    """The journal cannot be used: unreadable, in use by another process, written by a
    different batch, or holding a different item under the same key. Nothing was sent.
    """


class UnknownOutcomeError(PactaError):
    """A send may or may not have happened, and checking kept failing.

    The item is not reported as sent. With a journal it stays in flight, so a rerun
    checks it again before anything is repeated.
    """


class DedupStoreUnavailableError(PactaError):
    """The shared dedup store cannot be reached; answer the delivery non-2xx so Pacta retries."""


class WebhookError(PactaError):
    """A webhook delivery that must not be acted on."""


class WebhookSignatureError(WebhookError):
    """The delivery's `X-Pacta-Secret` header is missing or wrong."""


class WebhookPayloadError(WebhookError):
    """The delivery's body is not a valid Pacta event (malformed JSON, wrong shape, too large)."""


class APIConnectionError(PactaError):
    """No complete answer came back: the request may or may not have reached Pacta."""

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class IncompleteDownloadError(APIConnectionError):
    """A file from storage ended short of (or past) its `Content-Length`, after retries."""


class APIStatusError(PactaError):
    """Pacta answered with an error status.

    `code`, `message` and `details` come from Pacta's error body
    ``{"code", "message", "details"}``; for a body that is not JSON (a proxy's
    HTML 502, say) `code` is None and `message` describes the status.
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: str | None,
        details: dict[str, Any] | None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.request = response.request
        self.status_code = response.status_code
        self.code = code
        self.details = details

    def __str__(self) -> str:
        prefix = f"{self.status_code} {self.code}" if self.code else str(self.status_code)
        return f"{prefix}: {self.message}"


class BadRequestError(APIStatusError):
    """400: Pacta rejected the request's content (`VALIDATION_ERROR` and others)."""


class InvalidDocumentStatusError(BadRequestError):
    """400 `INVALID_DOCUMENT_STATUS`: the document is not in a state that allows this action."""


class InvalidFileError(BadRequestError):
    """400 `INVALID_FILE`: the upload is not a PDF, is empty, or is larger than 50 MiB."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, malformed, unknown or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the object belongs to another team or was deleted."""


class PlanRequiredError(PermissionDeniedError):
    """403 `PLAN_REQUIRED`: the feature needs a higher Pacta plan."""


class NotFoundError(APIStatusError):
    """404: no such object."""


class RateLimitError(APIStatusError):
    """429: the token's rate limit was hit.

    `retry_after` is the server's `Retry-After` in seconds (None when absent),
    `scope` is ``"general"`` or ``"send"`` and `limit` that limit's size, when Pacta
    says which limit it was.
    """

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.response.headers)

    @property
    def scope(self) -> str | None:
        scope = (self.details or {}).get("scope")
        return scope if isinstance(scope, str) else None

    @property
    def limit(self) -> int | None:
        limit = (self.details or {}).get("limit")
        return limit if isinstance(limit, int) else None


class ServerError(APIStatusError):
    """5xx: Pacta or a proxy in front of it failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}

_BY_CODE: dict[str, type[APIStatusError]] = {
    "INVALID_DOCUMENT_STATUS": InvalidDocumentStatusError,
    "INVALID_FILE": InvalidFileError,
    "PLAN_REQUIRED": PlanRequiredError,
}


def _error_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None
    return body if isinstance(body, dict) else None


def status_error_from_response(response: httpx.Response) -> APIStatusError:
    """Build the most specific error for an error response; the body must be read."""
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else APIStatusError)
    body = _error_body(response)
    if body is None:
        snippet = response.text[:_BODY_SNIPPET].strip()
        reason = response.reason_phrase or "error"
        message = f"HTTP {status} {reason}" + (f" (body: {snippet!r})" if snippet else "")
        return cls(message, response=response, code=None, details=None)
    raw_code = body.get("code")
    code = raw_code if isinstance(raw_code, str) else None
    raw_message = body.get("message")
    details = body.get("details")
    specific = _BY_CODE.get(code or "")
    chosen = specific if specific is not None and issubclass(specific, cls) else cls
    return chosen(
        raw_message if isinstance(raw_message, str) else f"HTTP {status}",
        response=response,
        code=code,
        details=details if isinstance(details, dict) else None,
    )


class ServerUnreachableError(PactaError):
    """No request reached Pacta for longer than the batch allows; the batch stopped.

    Nothing unsent was reported sent: rerun (with the journal) to finish.
    """
