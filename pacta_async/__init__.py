"""Async Python SDK for the Pacta e-signature API.

async with pacta_async.PactaClient() as client:
    document = await client.documents.create("contract.pdf", title="Q4 vendor agreement")
"""

from typing import TYPE_CHECKING

from ._batch import Batch, BatchSummary, ItemResult, ItemStatus
from ._client import DEFAULT_BASE_URL, PactaClient
from ._clock import Clock
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    EventLoopMismatchError,
    InvalidDocumentStatusError,
    InvalidFileError,
    InvalidInputError,
    JournalError,
    NotFoundError,
    PactaError,
    PermissionDeniedError,
    PlanRequiredError,
    RateLimitError,
    RateLimiterUnavailableError,
    ResponseValidationError,
    ServerError,
    UnknownOutcomeError,
    WebhookError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from ._options import NOT_GIVEN, NotGiven
from ._pagination import AsyncPager
from ._params import (
    AsyncBinaryFile,
    CreateItem,
    FieldParam,
    FileInput,
    GenerateItem,
    GenerateRecipientParam,
    RecipientParam,
)
from ._ratelimit import RateLimiter, TokenBucketLimiter
from ._retry import RetryBudget, RetryEvent
from ._version import __version__
from ._webhooks import (
    DEFAULT_MAX_BODY_BYTES as DEFAULT_WEBHOOK_MAX_BODY_BYTES,
)
from ._webhooks import (
    NO_SECRET,
    DedupStore,
    DocumentCancelled,
    DocumentCompleted,
    DocumentCreated,
    DocumentOpened,
    DocumentRejected,
    DocumentSent,
    DocumentSigned,
    InMemoryDedupStore,
    NoSecret,
    UnknownWebhookEvent,
    WebhookDeduplicator,
    WebhookEvent,
    WebhookSecret,
    parse_webhook,
)
from .types import Document, DocumentStatus, FieldType, RecipientRole, WebhookEventType

if TYPE_CHECKING:
    # Imported lazily below (it needs the `redis` extra); this import is for type checkers.
    from ._ratelimit._redis import RedisRateLimiter

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_WEBHOOK_MAX_BODY_BYTES",
    "NOT_GIVEN",
    "NO_SECRET",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncBinaryFile",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchSummary",
    "ClientClosedError",
    "Clock",
    "ConfigurationError",
    "CreateItem",
    "DedupStore",
    "Document",
    "DocumentCancelled",
    "DocumentCompleted",
    "DocumentCreated",
    "DocumentOpened",
    "DocumentRejected",
    "DocumentSent",
    "DocumentSigned",
    "DocumentStatus",
    "EventLoopMismatchError",
    "FieldParam",
    "FieldType",
    "FileInput",
    "GenerateItem",
    "GenerateRecipientParam",
    "InMemoryDedupStore",
    "InvalidDocumentStatusError",
    "InvalidFileError",
    "InvalidInputError",
    "ItemResult",
    "ItemStatus",
    "JournalError",
    "NoSecret",
    "NotFoundError",
    "NotGiven",
    "PactaClient",
    "PactaError",
    "PermissionDeniedError",
    "PlanRequiredError",
    "RateLimitError",
    "RateLimiter",
    "RateLimiterUnavailableError",
    "RecipientParam",
    "RecipientRole",
    "RedisRateLimiter",
    "ResponseValidationError",
    "RetryBudget",
    "RetryEvent",
    "ServerError",
    "TokenBucketLimiter",
    "UnknownOutcomeError",
    "UnknownWebhookEvent",
    "WebhookDeduplicator",
    "WebhookError",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookPayloadError",
    "WebhookSecret",
    "WebhookSignatureError",
    "__version__",
    "parse_webhook",
]


def __getattr__(name: str) -> object:
    # RedisRateLimiter needs the optional `redis` extra: import it only when asked for.
    if name == "RedisRateLimiter":
        from ._ratelimit._redis import RedisRateLimiter

        RedisRateLimiter.__module__ = __name__
        return RedisRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _set_public_module() -> None:
    """Show `pacta_async.X` in tracebacks and IDE hovers, not the private module (as httpx)."""
    for name in __all__:
        value = globals().get(name)
        module = getattr(value, "__module__", "")
        if callable(value) and module.startswith(f"{__name__}._"):
            value.__module__ = __name__


_set_public_module()
