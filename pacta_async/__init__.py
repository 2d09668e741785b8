"""Async Python SDK for the Pacta e-signature API.

async with pacta_async.PactaClient() as client:
    document = await client.documents.create("contract.pdf", title="Q4 vendor agreement")
"""

import typing

from . import _exports
from ._batch import (
    Batch,
    BatchSummary,
    Duplicate,
    ExportResult,
    ExportStatus,
    ExportSummary,
    ItemResult,
    ItemStatus,
)
from ._client import DEFAULT_BASE_URL, PactaClient
from ._clock import Clock
from ._download import DownloadedFile
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    DedupStoreUnavailableError,
    EventLoopMismatchError,
    IncompleteDownloadError,
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
    ServerUnreachableError,
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
from ._response import APIResponse
from ._retry import RetryBudget, RetryEvent, RetryPolicy
from ._routes import DEFAULT_SEND_ROUTES
from ._validation import UnknownValueWarning
from ._version import __version__ as __version__
from ._watch import StatusChange
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
    HandlingState,
    InMemoryDedupStore,
    NoSecret,
    UnknownWebhookEvent,
    WebhookDeduplicator,
    WebhookEvent,
    WebhookSecret,
    parse_webhook,
)
from .types import Document, DocumentStatus, FieldType, RecipientRole, WebhookEventType

if typing.TYPE_CHECKING:
    # Imported lazily below (they need the `aiohttp` and `redis` extras); these imports
    # are for type checkers.
    from ._aiohttp import AioHttpTransport
    from ._ratelimit._redis import RedisRateLimiter
    from ._webhooks._redis import RedisDedupStore

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_SEND_ROUTES",
    "DEFAULT_WEBHOOK_MAX_BODY_BYTES",
    "NOT_GIVEN",
    "NO_SECRET",
    "APIConnectionError",
    "APIResponse",
    "APIStatusError",
    "APITimeoutError",
    "AioHttpTransport",
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
    "DedupStoreUnavailableError",
    "Document",
    "DocumentCancelled",
    "DocumentCompleted",
    "DocumentCreated",
    "DocumentOpened",
    "DocumentRejected",
    "DocumentSent",
    "DocumentSigned",
    "DocumentStatus",
    "DownloadedFile",
    "Duplicate",
    "EventLoopMismatchError",
    "ExportResult",
    "ExportStatus",
    "ExportSummary",
    "FieldParam",
    "FieldType",
    "FileInput",
    "GenerateItem",
    "GenerateRecipientParam",
    "HandlingState",
    "InMemoryDedupStore",
    "IncompleteDownloadError",
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
    "RedisDedupStore",
    "RedisRateLimiter",
    "ResponseValidationError",
    "RetryBudget",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "ServerUnreachableError",
    "StatusChange",
    "TokenBucketLimiter",
    "UnknownOutcomeError",
    "UnknownValueWarning",
    "UnknownWebhookEvent",
    "WebhookDeduplicator",
    "WebhookError",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookPayloadError",
    "WebhookSecret",
    "WebhookSignatureError",
    "parse_webhook",
]


def __getattr__(name: str) -> object:
    # RedisRateLimiter needs the optional `redis` extra: import it only when asked for.
    if name == "RedisRateLimiter":
        from ._ratelimit._redis import RedisRateLimiter

        RedisRateLimiter.__module__ = __name__
        return RedisRateLimiter
    if name == "AioHttpTransport":
        from ._aiohttp import AioHttpTransport

        AioHttpTransport.__module__ = __name__
        return AioHttpTransport
    # So does RedisDedupStore.
    if name == "RedisDedupStore":
        from ._webhooks._redis import RedisDedupStore

        RedisDedupStore.__module__ = __name__
        return RedisDedupStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_exports.show_as_public(__name__, globals(), __all__)
