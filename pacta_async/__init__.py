"""Async Python SDK for the Pacta e-signature API.

    async with pacta_async.PactaClient() as client:
        document = await client.documents.create("contract.pdf", title="Q4 vendor agreement")
"""

from ._client import DEFAULT_BASE_URL, PactaClient
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
    NotFoundError,
    PactaError,
    PermissionDeniedError,
    PlanRequiredError,
    RateLimitError,
    ServerError,
    WebhookError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from ._pagination import AsyncPager
from ._ratelimit import RateLimiter, TokenBucketLimiter
from ._retry import RetryBudget, RetryEvent
from ._validation import GenerateRecipientParam, RecipientParam
from .types import Document, DocumentStatus, FieldType, RecipientRole, WebhookEventType

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "Document",
    "DocumentStatus",
    "FieldType",
    "GenerateRecipientParam",
    "InvalidDocumentStatusError",
    "InvalidFileError",
    "InvalidInputError",
    "NotFoundError",
    "PactaClient",
    "PactaError",
    "PermissionDeniedError",
    "PlanRequiredError",
    "RateLimitError",
    "RateLimiter",
    "RecipientParam",
    "RecipientRole",
    "RetryBudget",
    "RetryEvent",
    "ServerError",
    "TokenBucketLimiter",
    "WebhookError",
    "WebhookEventType",
    "WebhookPayloadError",
    "WebhookSignatureError",
]
