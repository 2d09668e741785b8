"""Teams, tokens, documents, templates and webhooks, and the rules between them.

One `threading.Lock` guards everything, because the HTTP side may run in a server
thread while a test drives the control API from its own. No critical section
awaits, so the lock is only ever held for microseconds. Events are queued for
delivery inside the lock, which keeps their order, and the delivery worker is
woken after it is released.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import secrets
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Final, Literal

import attrs

from .._clock import Clock
from ._deliveries import Deliveries
from ._errors import ApiError, forbidden, invalid_status, not_found, validation_error
from ._pdf import count_pages, is_pdf
from ._storage import Storage
from ._time import timestamp
from ._validation import (
    FieldInput,
    GenerateInput,
    Page,
    RecipientInput,
    UploadInput,
    WebhookInput,
)

__all__ = ["MAX_UPLOAD_BYTES", "Plan", "State"]

Plan = Literal["free", "team", "business", "enterprise"]

MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024
_PUBLIC_URL: Final = "https://sign.pacta.ink"
_EMBED_PLANS: Final = frozenset({"business", "enterprise"})
_SIGNING_ROLES: Final = frozenset({"SIGNER", "APPROVER"})
_EMBED_TOKEN_LIFETIME: Final = 3600.0


def _optional_timestamp(epoch: float | None) -> str | None:
    return None if epoch is None else timestamp(epoch)


@attrs.define
class _Team:
    id: int
    name: str
    plan: Plan


@attrs.define
class _Token:
    team_id: int
    expires_at: float | None


@attrs.define
class _Recipient:
    id: int
    document_id: int
    name: str
    email: str
    role: str
    signing_order: int | None
    signing_url: str
    signing_status: str = "NOT_SIGNED"
    read_status: str = "NOT_OPENED"
    send_status: str = "NOT_SENT"
    signed_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "documentId": self.document_id,
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "signingOrder": self.signing_order,
            "signingStatus": self.signing_status,
            "readStatus": self.read_status,
            "sendStatus": self.send_status,
            "signedAt": _optional_timestamp(self.signed_at),
            "signingUrl": self.signing_url,
        }


@attrs.define
class _Field:
    id: int
    owner_id: int  # the document's or the template's
    recipient_id: int
    type: str
    page: int
    x: float
    y: float
    width: float
    height: float
    inserted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "documentId": self.owner_id,
            "recipientId": self.recipient_id,
            "type": self.type,
            "page": self.page,
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
            "inserted": self.inserted,
        }

    def to_template_json(self) -> dict[str, Any]:
        body = self.to_json()
        del body["documentId"], body["inserted"]
        return body


@attrs.define
class _Document:
    id: int
    team_id: int
    title: str
    external_id: str | None
    pdf: bytes
    pages: int
    created_at: float
    updated_at: float
    recipients: list[_Recipient] = attrs.Factory(list)
    fields: list[_Field] = attrs.Factory(list)
    status: str = "DRAFT"
    completed_at: float | None = None
    deleted: bool = False
    sends: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "externalId": self.external_id,
            "teamId": self.team_id,
            "createdAt": timestamp(self.created_at),
            "updatedAt": timestamp(self.updated_at),
            "completedAt": _optional_timestamp(self.completed_at),
            "recipients": [recipient.to_json() for recipient in self.recipients],
        }

    def recipient(self, recipient_id: int) -> _Recipient:
        for recipient in self.recipients:
            if recipient.id == recipient_id:
                return recipient
        raise not_found("Recipient")


@attrs.define
class _Template:
    id: int
    team_id: int
    title: str
    external_id: str | None
    pdf: bytes
    pages: int
    created_at: float
    updated_at: float
    recipients: list[_Recipient]
    fields: list[_Field] = attrs.Factory(list)
    direct_link_token: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "externalId": self.external_id,
            "teamId": self.team_id,
            "createdAt": timestamp(self.created_at),
            "updatedAt": timestamp(self.updated_at),
            "recipients": [
                {"id": r.id, "name": r.name, "email": r.email, "role": r.role}
                for r in self.recipients
            ],
            "fields": [field.to_template_json() for field in self.fields],
        }


@attrs.define
class _Webhook:
    id: str
    team_id: int
    url: str
    events: tuple[str, ...]
    secret: str
    enabled: bool
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhookUrl": self.url,
            "eventTriggers": list(self.events),
            "enabled": self.enabled,
            "createdAt": timestamp(self.created_at),
            "updatedAt": timestamp(self.updated_at),
        }


def _paginate(items: Iterable[Any], page: Page) -> tuple[list[Any], int]:
    everything = list(items)
    total_pages = math.ceil(len(everything) / page.per_page)
    start = (page.page - 1) * page.per_page
    return everything[start : start + page.per_page], total_pages


class State:
    """Everything the server knows. Methods return JSON-ready dicts, copied under the lock."""

    def __init__(self, clock: Clock, deliveries: Deliveries) -> None:
        self._clock = clock
        self.storage = Storage(clock, self.stored_file)
        self._deliveries = deliveries
        self._lock = threading.Lock()
        self._team_ids = itertools.count(1)
        self._document_ids = itertools.count(1)
        self._recipient_ids = itertools.count(1)
        self._field_ids = itertools.count(1)
        self._template_ids = itertools.count(1)
        self._webhook_ids = itertools.count(1)
        self._teams: dict[int, _Team] = {}
        self._tokens: dict[str, _Token] = {}
        self._documents: dict[int, _Document] = {}  # in id order: newest last
        self._templates: dict[int, _Template] = {}
        self._webhooks: dict[str, _Webhook] = {}
        self._event_time: str | None = None  # of the events of the running transaction

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Hold the lock; events published inside share one `createdAt`, as a burst would."""
        with self._lock:
            self._event_time = None
            yield
        self._deliveries.wake()

    # -- teams and tokens ---------------------------------------------------------

    def create_team(self, name: str, plan: Plan) -> int:
        with self._lock:
            team = _Team(next(self._team_ids), name, plan)
            self._teams[team.id] = team
            return team.id

    def create_token(self, team_id: int, expires_in: float | None) -> str:
        with self._lock:
            if team_id not in self._teams:
                raise not_found("Team")
            token = "api_" + secrets.token_hex(16)
            expires_at = None if expires_in is None else self._clock.wall() + expires_in
            self._tokens[token] = _Token(team_id, expires_at)
            return token

    def authenticate(self, header: str | None) -> int:
        """The team behind an `Authorization` header, or 401."""
        if not header:
            raise ApiError(401, "UNAUTHORIZED", "The Authorization header is missing")
        if header.lower().startswith("bearer "):
            raise ApiError(401, "UNAUTHORIZED", "Send the raw API token, without 'Bearer'")
        with self._lock:
            token = self._tokens.get(header)
            if token is None:
                raise ApiError(401, "UNAUTHORIZED", "Invalid API token")
            if token.expires_at is not None and self._clock.wall() >= token.expires_at:
                raise ApiError(401, "UNAUTHORIZED", "The API token has expired")
            return token.team_id

    # -- documents ----------------------------------------------------------------

    def _document(self, team_id: int | None, document_id: int) -> _Document:
        """A live document of the team (any team when `team_id` is None)."""
        document = self._documents.get(document_id)
        if document is None:
            raise not_found("Document")
        if team_id is not None and document.team_id != team_id:
            raise forbidden("You do not have access to this document")
        if document.deleted:
            raise forbidden("This document was deleted")
        return document

    def _draft(self, team_id: int, document_id: int) -> _Document:
        document = self._document(team_id, document_id)
        if document.status != "DRAFT":
            raise invalid_status(document.status, "Only a DRAFT document can be changed")
        return document

    def _new_recipient(self, document_id: int, recipient: RecipientInput) -> _Recipient:
        return _Recipient(
            id=next(self._recipient_ids),
            document_id=document_id,
            name=recipient.name,
            email=recipient.email,
            role=recipient.role,
            signing_order=recipient.signing_order,
            signing_url=f"{_PUBLIC_URL}/sign/{secrets.token_urlsafe(16)}",
        )

    def _publish(self, document: _Document, event: str) -> None:
        """Queue `event` for every subscribed webhook of the document's team."""
        if self._event_time is None:
            self._event_time = timestamp(self._clock.wall())
        created_at = self._event_time
        for webhook in self._webhooks.values():
            if webhook.team_id == document.team_id and webhook.enabled and event in webhook.events:
                body = {
                    "event": event,
                    "payload": document.to_json(),
                    "createdAt": created_at,
                    "webhookEndpoint": webhook.url,
                }
                self._deliveries.enqueue(webhook.id, webhook.url, webhook.secret, body)

    def _add_document(
        self,
        team_id: int,
        title: str,
        external_id: str | None,
        pdf: bytes,
        pages: int,
    ) -> _Document:
        now = self._clock.wall()
        document = _Document(
            id=next(self._document_ids),
            team_id=team_id,
            title=title,
            external_id=external_id,
            pdf=pdf,
            pages=pages,
            created_at=now,
            updated_at=now,
        )
        self._documents[document.id] = document
        return document

    def list_documents(self, team_id: int, page: Page, status: str | None) -> dict[str, Any]:
        with self._lock:
            matching = (
                d
                for d in reversed(self._documents.values())
                if d.team_id == team_id and not d.deleted and status in (None, d.status)
            )
            documents, total_pages = _paginate(matching, page)
            return {"documents": [d.to_json() for d in documents], "totalPages": total_pages}

    def create_document(self, team_id: int, upload: UploadInput) -> dict[str, Any]:
        pages = _checked_pages(upload.pdf)
        with self._transaction():
            document = self._add_document(
                team_id, upload.title, upload.external_id, upload.pdf, pages
            )
            document.recipients = [self._new_recipient(document.id, r) for r in upload.recipients]
            self._publish(document, "DOCUMENT_CREATED")
            return document.to_json()

    def get_document(self, team_id: int, document_id: int) -> dict[str, Any]:
        with self._lock:
            return self._document(team_id, document_id).to_json()

    def download_link(self, team_id: int, document_id: int, original: bool) -> dict[str, Any]:
        """`GET /documents/{id}/download`: a presigned link on the storage origin."""
        with self._lock:
            document = self._document(team_id, document_id)
            if not original and document.status != "COMPLETED":
                raise invalid_status(
                    document.status, "The signed PDF exists only for a COMPLETED document"
                )
        url, expires_at = self.storage.link(document_id, "original" if original else "signed")
        return {"downloadUrl": url, "expiresAt": timestamp(expires_at)}

    def stored_file(self, document_id: int, kind: str) -> bytes | None:
        """What storage holds for a live document: the upload, or once completed the
        signed PDF (the upload plus an incremental-update trailer, as a signature adds)."""
        with self._lock:
            document = self._documents.get(document_id)
            if document is None or document.deleted:
                return None
            if kind == "original":
                return document.pdf
            if kind != "signed" or document.completed_at is None:
                return None
            signed_at = timestamp(document.completed_at)
            return (
                document.pdf + f"\n%Pacta-Signed document={document.id} at={signed_at}\n".encode()
            )

    def delete_document(self, team_id: int, document_id: int) -> None:
        with self._lock:
            document = self._document(team_id, document_id)
            document.deleted = True
            document.updated_at = self._clock.wall()

    def send_document(self, team_id: int, document_id: int, send_email: bool) -> dict[str, Any]:
        with self._transaction():
            document = self._document(team_id, document_id)
            if document.status != "DRAFT":
                raise invalid_status(document.status, "Only a DRAFT document can be sent")
            for index, recipient in enumerate(document.recipients):
                if recipient.role == "SIGNER" and not any(
                    f.recipient_id == recipient.id and f.type == "SIGNATURE"
                    for f in document.fields
                ):
                    raise validation_error(
                        f"recipients[{index}]",
                        f"Signer {recipient.email} needs at least one SIGNATURE field",
                    )
            self._mark_sent(document, send_email)
            return document.to_json()

    def _mark_sent(self, document: _Document, send_email: bool) -> None:
        document.status = "PENDING"
        document.updated_at = self._clock.wall()
        document.sends += 1
        if send_email:
            for recipient in document.recipients:
                recipient.send_status = "SENT"
        self._publish(document, "DOCUMENT_SENT")

    def duplicate_document(self, team_id: int, document_id: int) -> dict[str, Any]:
        with self._transaction():
            return self._duplicate(self._document(team_id, document_id)).to_json()

    def duplicate_many(self, document_id: int, copies: int) -> list[int]:
        with self._transaction():
            source = self._document(None, document_id)
            return [self._duplicate(source).id for _ in range(copies)]

    def _duplicate(self, source: _Document) -> _Document:
        copy = self._add_document(source.team_id, source.title, None, source.pdf, source.pages)
        self._copy_recipients_and_fields(source.recipients, source.fields, copy)
        self._publish(copy, "DOCUMENT_CREATED")
        return copy

    def _copy_recipients_and_fields(
        self, recipients: list[_Recipient], fields: list[_Field], target: _Document
    ) -> None:
        new_ids = {}
        for recipient in recipients:
            fresh = self._new_recipient(
                target.id,
                RecipientInput(
                    recipient.name, recipient.email, recipient.role, recipient.signing_order
                ),
            )
            new_ids[recipient.id] = fresh.id
            target.recipients.append(fresh)
        target.fields = [
            attrs.evolve(
                field,
                id=next(self._field_ids),
                owner_id=target.id,
                recipient_id=new_ids[field.recipient_id],
                inserted=False,
            )
            for field in fields
        ]

    def list_recipients(self, team_id: int, document_id: int) -> dict[str, Any]:
        with self._lock:
            document = self._document(team_id, document_id)
            return {"recipients": [r.to_json() for r in document.recipients]}

    def add_recipient(
        self, team_id: int, document_id: int, recipient: RecipientInput
    ) -> dict[str, Any]:
        with self._lock:
            document = self._draft(team_id, document_id)
            fresh = self._new_recipient(document.id, recipient)
            document.recipients.append(fresh)
            document.updated_at = self._clock.wall()
            return fresh.to_json()

    def list_fields(self, team_id: int, document_id: int) -> dict[str, Any]:
        with self._lock:
            document = self._document(team_id, document_id)
            return {"fields": [f.to_json() for f in document.fields]}

    def add_field(self, team_id: int, document_id: int, field: FieldInput) -> dict[str, Any]:
        with self._lock:
            document = self._draft(team_id, document_id)
            if field.page > document.pages:
                raise validation_error(
                    "page", f"page {field.page} does not exist: the PDF has {document.pages}"
                )
            if all(r.id != field.recipient_id for r in document.recipients):
                raise validation_error(
                    "recipientId", "recipientId is not a recipient of this document"
                )
            fresh = _Field(
                id=next(self._field_ids),
                owner_id=document.id,
                recipient_id=field.recipient_id,
                type=field.type,
                page=field.page,
                x=field.x,
                y=field.y,
                width=field.width,
                height=field.height,
            )
            document.fields.append(fresh)
            document.updated_at = self._clock.wall()
            return fresh.to_json()

    def create_embed_token(
        self, team_id: int, document_id: int, recipient_id: int
    ) -> dict[str, Any]:
        with self._lock:
            document = self._document(team_id, document_id)
            document.recipient(recipient_id)
            if self._teams[team_id].plan not in _EMBED_PLANS:
                raise ApiError(403, "PLAN_REQUIRED", "Embedded signing needs the Business plan")
            token = "emb_" + secrets.token_urlsafe(24)
            return {
                "token": token,
                "expiresAt": timestamp(self._clock.wall() + _EMBED_TOKEN_LIFETIME),
                "embedUrl": f"{_PUBLIC_URL}/embed/sign/{token}",
            }

    # -- templates ----------------------------------------------------------------

    def _template(self, team_id: int, template_id: int) -> _Template:
        template = self._templates.get(template_id)
        if template is None:
            raise not_found("Template")
        if template.team_id != team_id:
            raise forbidden("You do not have access to this template")
        return template

    def list_templates(self, team_id: int, page: Page) -> dict[str, Any]:
        with self._lock:
            mine = (t for t in reversed(self._templates.values()) if t.team_id == team_id)
            templates, total_pages = _paginate(mine, page)
            return {"templates": [t.to_json() for t in templates], "totalPages": total_pages}

    def create_template(self, team_id: int, upload: UploadInput) -> dict[str, Any]:
        pages = _checked_pages(upload.pdf)
        with self._lock:
            now = self._clock.wall()
            template_id = next(self._template_ids)
            template = _Template(
                id=template_id,
                team_id=team_id,
                title=upload.title,
                external_id=upload.external_id,
                pdf=upload.pdf,
                pages=pages,
                created_at=now,
                updated_at=now,
                recipients=[self._new_recipient(template_id, r) for r in upload.recipients],
            )
            self._templates[template.id] = template
            return template.to_json()

    def generate(self, team_id: int, template_id: int, request: GenerateInput) -> dict[str, Any]:
        """A document from the template, sent at once: it counts as a send."""
        with self._transaction():
            template = self._template(team_id, template_id)
            placeholders = {r.id: r for r in template.recipients}
            chosen: dict[int, tuple[str, str]] = {}
            for index, recipient in enumerate(request.recipients):
                if recipient.id not in placeholders:
                    raise validation_error(
                        f"recipients[{index}].id", "id is not a recipient of this template"
                    )
                if recipient.id in chosen:
                    raise validation_error(
                        f"recipients[{index}].id", "the same recipient is given twice"
                    )
                chosen[recipient.id] = (recipient.name, recipient.email)
            document = self._add_document(
                team_id,
                request.title or template.title,
                request.external_id,
                template.pdf,
                template.pages,
            )
            filled = [
                attrs.evolve(r, name=chosen[r.id][0], email=chosen[r.id][1])
                if r.id in chosen
                else r
                for r in template.recipients
            ]
            self._copy_recipients_and_fields(filled, template.fields, document)
            self._publish(document, "DOCUMENT_CREATED")
            self._mark_sent(document, request.send_email)
            return document.to_json()

    def direct_link(self, team_id: int, template_id: int) -> dict[str, Any]:
        with self._lock:
            template = self._template(team_id, template_id)
            if template.direct_link_token is None:
                template.direct_link_token = secrets.token_urlsafe(16)
            token = template.direct_link_token
            return {"url": f"{_PUBLIC_URL}/d/{token}", "token": token, "enabled": True}

    # -- webhooks -----------------------------------------------------------------

    def _webhook(self, team_id: int, webhook_id: str) -> _Webhook:
        webhook = self._webhooks.get(webhook_id)
        if webhook is None:
            raise not_found("Webhook")
        if webhook.team_id != team_id:
            raise forbidden("You do not have access to this webhook")
        return webhook

    def list_webhooks(self, team_id: int) -> dict[str, Any]:
        with self._lock:
            mine = [w.to_json() for w in self._webhooks.values() if w.team_id == team_id]
            return {"webhooks": mine}

    def create_webhook(self, team_id: int, request: WebhookInput) -> dict[str, Any]:
        assert request.webhook_url is not None
        assert request.event_triggers is not None
        with self._lock:
            now = self._clock.wall()
            webhook = _Webhook(
                id=f"wh_{next(self._webhook_ids)}",
                team_id=team_id,
                url=request.webhook_url,
                events=request.event_triggers,
                secret=request.secret or "",
                enabled=True if request.enabled is None else request.enabled,
                created_at=now,
                updated_at=now,
            )
            self._webhooks[webhook.id] = webhook
            return webhook.to_json()

    def update_webhook(
        self, team_id: int, webhook_id: str, request: WebhookInput
    ) -> dict[str, Any]:
        with self._lock:
            webhook = self._webhook(team_id, webhook_id)
            if request.webhook_url is not None:
                webhook.url = request.webhook_url
            if request.event_triggers is not None:
                webhook.events = request.event_triggers
            if request.secret is not None:
                webhook.secret = request.secret
            if request.enabled is not None:
                webhook.enabled = request.enabled
            webhook.updated_at = self._clock.wall()
            return webhook.to_json()

    def delete_webhook(self, team_id: int, webhook_id: str) -> None:
        with self._lock:
            self._webhook(team_id, webhook_id)
            del self._webhooks[webhook_id]

    # -- what recipients do, simulated --------------------------------------------

    def _pending(self, document_id: int, recipient_id: int, action: str) -> _Recipient:
        document = self._document(None, document_id)
        recipient = document.recipient(recipient_id)
        if document.status != "PENDING":
            raise invalid_status(document.status, f"Only a PENDING document can be {action}")
        return recipient

    def _open(self, document: _Document, recipient: _Recipient) -> None:
        if recipient.read_status == "NOT_OPENED":
            recipient.read_status = "OPENED"
            document.updated_at = self._clock.wall()
            self._publish(document, "DOCUMENT_OPENED")

    def open(self, document_id: int, recipient_id: int) -> None:
        with self._transaction():
            recipient = self._pending(document_id, recipient_id, "opened")
            self._open(self._documents[document_id], recipient)

    def _undecided(self, recipient: _Recipient, action: str) -> None:
        if recipient.role not in _SIGNING_ROLES:
            raise validation_error("role", f"A {recipient.role} cannot have {action}")
        if recipient.signing_status != "NOT_SIGNED":
            raise validation_error("signingStatus", f"The recipient has already {action}")

    def sign(self, document_id: int, recipient_id: int) -> None:
        with self._transaction():
            recipient = self._pending(document_id, recipient_id, "signed")
            self._undecided(recipient, "signed")
            self._sign(self._documents[document_id], recipient)

    def complete(self, document_id: int) -> None:
        """Every signer and approver who has not yet signed signs, all in one millisecond."""
        with self._transaction():
            document = self._document(None, document_id)
            if document.status != "PENDING":
                raise invalid_status(document.status, "Only a PENDING document can be completed")
            for recipient in document.recipients:
                if recipient.role in _SIGNING_ROLES and recipient.signing_status == "NOT_SIGNED":
                    self._sign(document, recipient)

    def _sign(self, document: _Document, recipient: _Recipient) -> None:
        self._open(document, recipient)
        now = self._clock.wall()
        recipient.signing_status = "SIGNED"
        recipient.signed_at = now
        for field in document.fields:
            if field.recipient_id == recipient.id:
                field.inserted = True
        document.updated_at = now
        self._publish(document, "DOCUMENT_SIGNED")
        if all(
            r.signing_status == "SIGNED" for r in document.recipients if r.role in _SIGNING_ROLES
        ):
            document.status = "COMPLETED"
            document.completed_at = now
            self._publish(document, "DOCUMENT_COMPLETED")

    def reject(self, document_id: int, recipient_id: int) -> None:
        with self._transaction():
            recipient = self._pending(document_id, recipient_id, "rejected")
            self._undecided(recipient, "rejected")
            document = self._documents[document_id]
            self._open(document, recipient)
            recipient.signing_status = "REJECTED"
            document.status = "REJECTED"
            document.updated_at = self._clock.wall()
            self._publish(document, "DOCUMENT_REJECTED")

    def cancel(self, document_id: int) -> None:
        with self._transaction():
            document = self._document(None, document_id)
            if document.status != "PENDING":
                raise invalid_status(document.status, "Only a PENDING document can be cancelled")
            document.status = "CANCELLED"
            document.updated_at = self._clock.wall()
            self._publish(document, "DOCUMENT_CANCELLED")

    def send_count(self, document_id: int) -> int:
        with self._lock:
            document = self._documents.get(document_id)
            if document is None:
                raise not_found("Document")
            return document.sends

    def document(self, document_id: int) -> dict[str, Any]:
        with self._lock:
            return self._document(None, document_id).to_json()


def _checked_pages(pdf: bytes) -> int:
    """The page count of an upload, or `INVALID_FILE`."""
    if not pdf:
        raise ApiError(400, "INVALID_FILE", "The file is empty")
    if len(pdf) > MAX_UPLOAD_BYTES:
        raise ApiError(400, "INVALID_FILE", "The file is larger than 50 MiB")
    if not is_pdf(pdf):
        raise ApiError(400, "INVALID_FILE", "The file is not a PDF")
    return count_pages(pdf)
