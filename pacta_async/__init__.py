"""Async Python SDK for the Pacta e-signature API.

async with pacta_async.PactaClient() as client:
    document = await client.documents.create("contract.pdf", title="Q4 vendor agreement")
"""

from ._batch import Batch
from ._batch_types import (
    BatchSummary,
    CreateItem,
    FieldParam,
    GenerateItem,
    ItemResult,
    ItemStatus,
)
from ._client import DEFAULT_BASE_URL, PactaClient
from ._dedup import DedupStore, InMemoryDedupStore, WebhookDeduplicator
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
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
    ServerError,
    UnknownOutcomeError,
    WebhookError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from ._pagination import AsyncPager
from ._ratelimit import RateLimiter, TokenBucketLimiter
from ._retry import RetryBudget, RetryEvent
from ._validation import GenerateRecipientParam, RecipientParam
from ._webhooks import (
    DEFAULT_MAX_BODY_BYTES as DEFAULT_WEBHOOK_MAX_BODY_BYTES,
)
from ._webhooks import (
    NO_SECRET,
    DocumentCancelled,
    DocumentCompleted,
    DocumentCreated,
    DocumentOpened,
    DocumentRejected,
    DocumentSent,
    DocumentSigned,
    UnknownWebhookEvent,
    WebhookEvent,
    WebhookSecret,
    parse_webhook,
)
from .types import Document, DocumentStatus, FieldType, RecipientRole, WebhookEventType

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_WEBHOOK_MAX_BODY_BYTES",
    "NO_SECRET",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchSummary",
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
    "FieldParam",
    "FieldType",
    "GenerateItem",
    "GenerateRecipientParam",
    "InMemoryDedupStore",
    "InvalidDocumentStatusError",
    "InvalidFileError",
    "InvalidInputError",
    "ItemResult",
    "ItemStatus",
    "JournalError",
    "NotFoundError",
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
    "parse_webhook",
]


def __getattr__(name: str) -> object:
    # RedisRateLimiter needs the optional `redis` extra: import it only when asked for.
    if name == "RedisRateLimiter":
        from ._redis_ratelimit import RedisRateLimiter

        return RedisRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
