"""Receiving Pacta's webhook deliveries: verify, parse into typed events, act once."""

from ._dedup import DedupStore, HandlingState, InMemoryDedupStore, WebhookDeduplicator
from ._events import (
    DocumentCancelled,
    DocumentCompleted,
    DocumentCreated,
    DocumentOpened,
    DocumentRejected,
    DocumentSent,
    DocumentSigned,
    UnknownWebhookEvent,
    WebhookEvent,
)
from ._parse import DEFAULT_MAX_BODY_BYTES, NO_SECRET, NoSecret, WebhookSecret, parse_webhook

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "NO_SECRET",
    "DedupStore",
    "DocumentCancelled",
    "DocumentCompleted",
    "DocumentCreated",
    "DocumentOpened",
    "DocumentRejected",
    "DocumentSent",
    "DocumentSigned",
    "HandlingState",
    "InMemoryDedupStore",
    "NoSecret",
    "UnknownWebhookEvent",
    "WebhookDeduplicator",
    "WebhookEvent",
    "WebhookSecret",
    "parse_webhook",
]
