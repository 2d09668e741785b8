"""The three kinds of batch: sending drafts, generating from a template, and
uploading then sending. Each checks an item before anything is sent, names it for
the journal, and makes its requests through the `Engine`, so none happens twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Protocol, TypeVar

import attrs

from .._errors import InvalidInputError
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
from ._journal import ItemState, JournalRow

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


def _keyed(index: int, external_id: str | None, batch_id: str) -> tuple[str, str]:
    """The journal key and the document's externalId of a generated or uploaded item."""
    if external_id is not None:
        return f"external:{external_id}", external_id
    return f"index:{index}", f"{batch_id}-{index}"


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

    def prepare(self, index: int, item: T_contra, batch_id: str) -> Prepared:
        """Check the item (`InvalidInputError` before anything is sent) and name it."""
        ...

    async def run(
        self, engine: Engine, item: T_contra, prepared: Prepared, row: JournalRow | None
    ) -> int:
        """Send the item exactly once; returns the sent document's id."""
        ...


def _maybe_sent(row: JournalRow | None) -> bool:
    return row is not None and row.state is ItemState.IN_FLIGHT


class SendDrafts:
    name = "send"
    target = ""
    finds_by_external_id = False

    def __init__(self, send_email: bool) -> None:
        self._send_email = send_email

    def prepare(self, index: int, item: int, batch_id: str) -> Prepared:
        return Prepared(str(check_id(item, "document_id")), "", None)

    async def run(
        self, engine: Engine, item: int, prepared: Prepared, row: JournalRow | None
    ) -> int:
        document = await _send_draft(engine, item, self._send_email, maybe_sent=_maybe_sent(row))
        return document.id


class Generate:
    name = "generate"
    finds_by_external_id = True

    def __init__(self, template_id: int, send_email: bool) -> None:
        self._template_id = template_id
        self.target = str(template_id)
        self._send_email = send_email

    def prepare(self, index: int, item: GenerateItem, batch_id: str) -> Prepared:
        _check_keys(item, {"recipients"}, {"title", "external_id"}, "GenerateItem")
        recipients = check_template_recipients(item["recipients"])
        title = item.get("title")
        if title is not None:
            check_text(title, "title")
        external_id = item.get("external_id")
        if external_id is not None:
            check_text(external_id, "external_id")
        key, external_id = _keyed(index, external_id, batch_id)
        return Prepared(key, _fingerprint([recipients, title]), external_id)

    async def run(
        self, engine: Engine, item: GenerateItem, prepared: Prepared, row: JournalRow | None
    ) -> int:
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

        document = await engine.create_once(generate, external_id, maybe_created=_maybe_sent(row))
        return document.id


class CreateAndSend:
    name = "create_and_send"
    target = ""
    finds_by_external_id = True

    def __init__(self, send_email: bool) -> None:
        self._send_email = send_email

    def prepare(self, index: int, item: CreateItem, batch_id: str) -> Prepared:
        _check_keys(item, {"file", "title", "recipients", "fields"}, {"external_id"}, "CreateItem")
        check_text(item["title"], "title")
        recipients = check_recipients(item["recipients"])
        fields = [_check_field(field, i, len(recipients)) for i, field in enumerate(item["fields"])]
        external_id = item.get("external_id")
        if external_id is not None:
            check_text(external_id, "external_id")
        key, external_id = _keyed(index, external_id, batch_id)
        file = item["file"]
        source = os.fspath(file) if isinstance(file, str | os.PathLike) else None
        return Prepared(key, _fingerprint([item["title"], recipients, fields, source]), external_id)

    async def run(
        self, engine: Engine, item: CreateItem, prepared: Prepared, row: JournalRow | None
    ) -> int:
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

        document_id = row.document_id if row is not None else None
        if document_id is None:
            document = await engine.create_once(create, external_id, maybe_created=_maybe_sent(row))
            await engine.journal.in_flight(prepared.key, prepared.fingerprint, document.id)
        else:
            # An earlier run uploaded it, and may have placed fields or even sent it.
            document = await documents.get(document_id)
            if document.status != DocumentStatus.DRAFT:
                return document.id
        existing = [] if uploaded else await documents.fields.list(document.id)
        for spec in item["fields"]:
            await _place_field(engine, document, spec, existing)
        sent = await _send_draft(engine, document.id, self._send_email, maybe_sent=False)
        return sent.id


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
