"""The typed events a webhook delivery turns into, one class per event name.

Match on the class (`case DocumentSigned(document=document):`); an event name newer
than this SDK arrives as `UnknownWebhookEvent` instead of failing.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

import attrs
from pacta_api.models import Document, WebhookEventType

__all__ = [
    "EVENT_CLASSES",
    "DocumentCancelled",
    "DocumentCompleted",
    "DocumentCreated",
    "DocumentOpened",
    "DocumentRejected",
    "DocumentSent",
    "DocumentSigned",
    "UnknownWebhookEvent",
    "WebhookEvent",
]


@attrs.frozen
class WebhookEvent:
    """One event delivered by Pacta; the subclasses name the event.

    `raw` is the decoded body as received, for fields this SDK does not model yet.
    The same event can be delivered more than once, each time with a new `created_at`
    (the delivery attempt's time): see `dedup_key`.
    """

    event: str
    document: Document
    created_at: datetime.datetime
    webhook_endpoint: str
    raw: dict[str, Any] = attrs.field(repr=False)

    @property
    def dedup_key(self) -> str:
        """The event's identity, the same in every delivery of it and different between events.

        ``"<event>:<document id>:<sha256 of the canonical payload>"``. A retry carries
        the same `event` and `payload` but a new `createdAt`, so `createdAt` is left
        out; the payload is the document as the event left it, so two different
        events (two recipients signing in one millisecond) differ in it. Canonical
        JSON (sorted keys, no whitespace) makes the key independent of how the body
        was serialised. `webhookEndpoint` is left out too: two subscriptions pointing
        at one receiver deliver one event.
        """
        payload = self.raw["payload"]
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        return f"{self.event}:{self.document.id}:{digest}"


@attrs.frozen
class DocumentCreated(WebhookEvent):
    """`DOCUMENT_CREATED`: a document was created, in `DRAFT`."""


@attrs.frozen
class DocumentSent(WebhookEvent):
    """`DOCUMENT_SENT`: the document went out to its recipients and is `PENDING`."""


@attrs.frozen
class DocumentOpened(WebhookEvent):
    """`DOCUMENT_OPENED`: a recipient opened the document."""


@attrs.frozen
class DocumentSigned(WebhookEvent):
    """`DOCUMENT_SIGNED`: a recipient signed; others may still have to."""


@attrs.frozen
class DocumentCompleted(WebhookEvent):
    """`DOCUMENT_COMPLETED`: every recipient is done; the document is `COMPLETED`."""


@attrs.frozen
class DocumentRejected(WebhookEvent):
    """`DOCUMENT_REJECTED`: a recipient rejected the document."""


@attrs.frozen
class DocumentCancelled(WebhookEvent):
    """`DOCUMENT_CANCELLED`: the sender cancelled the document."""


@attrs.frozen
class UnknownWebhookEvent(WebhookEvent):
    """An event name newer than this SDK; `event` holds it. Pacta adds events over time."""


EVENT_CLASSES: Final[Mapping[str, type[WebhookEvent]]] = {
    WebhookEventType.DOCUMENT_CREATED: DocumentCreated,
    WebhookEventType.DOCUMENT_SENT: DocumentSent,
    WebhookEventType.DOCUMENT_OPENED: DocumentOpened,
    WebhookEventType.DOCUMENT_SIGNED: DocumentSigned,
    WebhookEventType.DOCUMENT_COMPLETED: DocumentCompleted,
    WebhookEventType.DOCUMENT_REJECTED: DocumentRejected,
    WebhookEventType.DOCUMENT_CANCELLED: DocumentCancelled,
}
