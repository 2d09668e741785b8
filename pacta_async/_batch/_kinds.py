"""The three kinds of batch: sending drafts, generating from a template, and
uploading then sending. Each checks an item before anything is sent, names it for
the journal, and makes its requests through the `Engine`, so none happens twice.

An item's name is its content, never its position: the user's externalId where
given, else the batch identity and a hash of what the item sends. Inserting,
removing or reordering rows leaves every other item's name, and its document's
externalId, as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Protocol, TypeVar

import attrs

from .._errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidDocumentStatusError,
    InvalidInputError,
    NotFoundError,
    PactaError,
    PermissionDeniedError,
    RateLimiterUnavailableError,
)
from .._params import CreateItem, FieldParam, GenerateItem
from .._validation import (
    check_enum,
    check_field_geometry,
    check_id,
    check_recipients,
    check_template_recipients,
    check_text,
)
from ..types import Document, DocumentStatus, Field, FieldType
from ._engine import Engine

__all__ = ["CreateAndSend", "Generate", "Kind", "Prepared", "SendDrafts"]

T_contra = TypeVar("T_contra", contravariant=True)


# -- one item -----------------------------------------------------------------------


@attrs.frozen
class Prepared:
    key: str  # the item's name in the journal
    fingerprint: str  # so a rerun cannot mistake a different item for this one
    external_id: str | None


def _fingerprint(data: object) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _keyed(external_id: str | None, batch_id: str, fingerprint: str) -> Prepared:
    """A generated or uploaded item, named by its externalId: the user's, or one made
    from the batch identity and the item's content."""
    if external_id is None:
        external_id = f"{batch_id}:{fingerprint[:20]}"
    return Prepared(f"external:{external_id}", fingerprint, external_id)


def _batch_fatal(error: PactaError) -> bool:
    """Errors that will fail every item alike: stop the batch at the first."""
    return isinstance(error, AuthenticationError | ConfigurationError | RateLimiterUnavailableError)


def _check_keys(item: object, required: set[str], optional: set[str], kind: str) -> None:
    if not isinstance(item, dict):
        raise InvalidInputError(f"each item must be a {kind} dict, got {type(item).__name__}")
    missing = required - set(item)
    unknown = set(item) - required - optional
    if missing or unknown:
        problem = f"missing {sorted(missing)}" if missing else f"unknown keys {sorted(unknown)}"
        raise InvalidInputError(f"{kind}: {problem}")


class Kind(Protocol[T_contra]):
    """What one kind of batch does with an item."""

    name: str
    target: str
    finds_by_external_id: bool

    def prepare(self, item: T_contra, batch_id: str) -> Prepared:
        """Check the item (`InvalidInputError` before anything is sent) and name it."""
        ...

    async def run(
        self,
        engine: Engine,
        item: T_contra,
        prepared: Prepared,
        *,
        maybe_sent: bool,
        document_id: int | None,
    ) -> tuple[int, bool]:
        """Send the item exactly once, from `document_id` if an earlier run made its
        document; returns the sent document's id and whether it was sent before."""
        ...

    def fatal(self, error: PactaError) -> bool:
        """Whether `error` stops the whole batch (every other item would meet it too)."""
        ...


class SendDrafts:
    name = "send"
    target = ""
    finds_by_external_id = False

    def __init__(self, send_email: bool) -> None:
        self._send_email = send_email

    def prepare(self, item: int, batch_id: str) -> Prepared:
        return Prepared(str(check_id(item, "document_id")), "", None)

    async def run(
        self,
        engine: Engine,
        item: int,
        prepared: Prepared,
        *,
        maybe_sent: bool,
        document_id: int | None,
    ) -> tuple[int, bool]:
        try:
            document = await _send_draft(engine, item, self._send_email, maybe_sent=maybe_sent)
        except InvalidDocumentStatusError as exc:
            # Sent already, by a run that left no journal (the server is the truth).
            if (exc.details or {}).get("status") in {"PENDING", "COMPLETED"}:
                return item, True
            raise
        return document.id, False

    def fatal(self, error: PactaError) -> bool:
        return _batch_fatal(error)


class Generate:
    name = "generate"
    finds_by_external_id = True

    def __init__(self, template_id: int, send_email: bool) -> None:
        self._template_id = template_id
        self.target = str(template_id)
        self._send_email = send_email

    def prepare(self, item: GenerateItem, batch_id: str) -> Prepared:
        _check_keys(item, {"recipients"}, {"title", "external_id"}, "GenerateItem")
        recipients = check_template_recipients(item["recipients"])
        title = item.get("title")
        if title is not None:
            check_text(title, "title")
        external_id = item.get("external_id")
        if external_id is not None:
            check_text(external_id, "external_id")
        return _keyed(external_id, batch_id, _fingerprint([recipients, title]))

    async def run(
        self,
        engine: Engine,
        item: GenerateItem,
        prepared: Prepared,
        *,
        maybe_sent: bool,
        document_id: int | None,
    ) -> tuple[int, bool]:
        if document_id is not None:  # generated documents are sent as they are made
            return document_id, True
        external_id = prepared.external_id
        assert external_id is not None

        async def generate() -> Document:
            return await engine.templates.generate(
                self._template_id,
                recipients=item["recipients"],
                title=item.get("title"),
                external_id=external_id,
                send_email=self._send_email,
            )

        document = await engine.create_once(generate, external_id, maybe_created=maybe_sent)
        return document.id, False

    def fatal(self, error: PactaError) -> bool:
        # Only the template can be missing or forbidden: no item can succeed without it.
        return _batch_fatal(error) or isinstance(error, NotFoundError | PermissionDeniedError)


class CreateAndSend:
    name = "create_and_send"
    target = ""
    finds_by_external_id = True

    def __init__(self, send_email: bool) -> None:
        self._send_email = send_email

    def prepare(self, item: CreateItem, batch_id: str) -> Prepared:
        _check_keys(item, {"file", "title", "recipients", "fields"}, {"external_id"}, "CreateItem")
        check_text(item["title"], "title")
        recipients = check_recipients(item["recipients"])
        fields = [_check_field(field, i, len(recipients)) for i, field in enumerate(item["fields"])]
        external_id = item.get("external_id")
        if external_id is not None:
            check_text(external_id, "external_id")
        file = item["file"]
        source = os.fspath(file) if isinstance(file, str | os.PathLike) else None
        fingerprint = _fingerprint([item["title"], recipients, fields, source])
        return _keyed(external_id, batch_id, fingerprint)

    async def run(
        self,
        engine: Engine,
        item: CreateItem,
        prepared: Prepared,
        *,
        maybe_sent: bool,
        document_id: int | None,
    ) -> tuple[int, bool]:
        external_id = prepared.external_id
        assert external_id is not None
        documents = engine.documents
        uploaded = False

        async def create() -> Document:
            nonlocal uploaded
            document = await documents.create(
                item["file"],
                title=item["title"],
                recipients=item["recipients"],
                external_id=external_id,
            )
            uploaded = True
            return document

        if document_id is None:
            document = await engine.create_once(create, external_id, maybe_created=maybe_sent)
            await engine.journal.in_flight(prepared.key, prepared.fingerprint, document.id)
        else:
            # An earlier run uploaded it, and may have placed fields or even sent it.
            document = await documents.get(document_id)
            if document.status != DocumentStatus.DRAFT:
                return document.id, True
        existing = [] if uploaded else await documents.fields.list(document.id)
        for spec in item["fields"]:
            await _place_field(engine, document, spec, existing)
        sent = await _send_draft(engine, document.id, self._send_email, maybe_sent=False)
        return sent.id, False

    def fatal(self, error: PactaError) -> bool:
        return _batch_fatal(error)


def _check_field(field: object, index: int, recipients: int) -> dict[str, Any]:
    where = f"fields[{index}]"
    if not isinstance(field, dict):
        raise InvalidInputError(f"{where} must be a FieldParam dict", field=where)
    keys = {"recipient", "type", "page", "x", "y", "width", "height"}
    if set(field) != keys:
        raise InvalidInputError(f"{where} needs exactly the keys {sorted(keys)}", field=where)
    recipient = field["recipient"]
    if (
        isinstance(recipient, bool)
        or not isinstance(recipient, int)
        or not (0 <= recipient < recipients)
    ):
        raise InvalidInputError(
            f"{where}.recipient must index the item's recipients, got {recipient!r}",
            field=f"{where}.recipient",
        )
    check_field_geometry(field["page"], field["x"], field["y"], field["width"], field["height"])
    check_enum(field["type"], FieldType, f"{where}.type")
    return {**field, "type": str(field["type"])}


def _same_field(field: Field, recipient_id: int, spec: FieldParam) -> bool:
    return (
        field.recipient_id == recipient_id
        and str(field.type_) == str(spec["type"])
        and (field.page, field.x, field.y, field.width, field.height)
        == (spec["page"], spec["x"], spec["y"], spec["width"], spec["height"])
    )


# -- requests the kinds share -------------------------------------------------------


async def _send_draft(
    engine: Engine, document_id: int, send_email: bool, *, maybe_sent: bool
) -> Document:
    documents = engine.documents

    async def send() -> Document:
        return await documents.send(document_id, send_email=send_email)

    async def sent() -> Document | None:
        document = await documents.get(document_id)
        return None if document.status == DocumentStatus.DRAFT else document

    return await engine.once(send, sent, maybe_happened=maybe_sent)


async def _place_field(
    engine: Engine, document: Document, spec: FieldParam, existing: list[Field]
) -> None:
    """Add the field unless `existing` (refreshed when in doubt) already has it."""
    fields = engine.documents.fields
    recipient_id = document.recipients[spec["recipient"]].id
    if any(_same_field(field, recipient_id, spec) for field in existing):
        return

    async def create() -> Field:
        return await fields.create(
            document.id,
            recipient_id=recipient_id,
            type=spec["type"],
            page=spec["page"],
            x=spec["x"],
            y=spec["y"],
            width=spec["width"],
            height=spec["height"],
        )

    async def placed() -> Field | None:
        current = await fields.list(document.id)
        return next((f for f in current if _same_field(f, recipient_id, spec)), None)

    existing.append(await engine.once(create, placed, maybe_happened=False))
