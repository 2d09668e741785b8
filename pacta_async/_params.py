"""The shapes of what users pass in: recipients, fields, files and batch items.

They are `TypedDict`s, so plain dicts work and a type checker still sees typos.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import BinaryIO, NotRequired, Protocol, TypedDict

from pacta_api.models import FieldType, RecipientRole

__all__ = [
    "AsyncBinaryFile",
    "CreateItem",
    "FieldParam",
    "FileInput",
    "GenerateItem",
    "GenerateRecipientParam",
    "RecipientParam",
]


class AsyncBinaryFile(Protocol):
    """A file opened in binary mode with async methods: `anyio.open_file(path, "rb")` or
    `trio.open_file(path, "rb")`."""

    async def read(self, size: int = -1, /) -> bytes: ...
    async def seek(self, offset: int, whence: int = 0, /) -> int: ...


FileInput = str | os.PathLike[str] | bytes | BinaryIO | AsyncBinaryFile
"""A PDF: a path, its bytes, or a file opened in binary mode (plain or async)."""


class RecipientParam(TypedDict):
    """A recipient of a new document: `role` defaults to SIGNER."""

    name: str
    email: str
    role: NotRequired[RecipientRole | str]
    signing_order: NotRequired[int]


class GenerateRecipientParam(TypedDict):
    """Fills a template's placeholder recipient `id` with a real person."""

    id: int
    name: str
    email: str


class GenerateItem(TypedDict):
    """One document from a template.

    `external_id` must be unique within the batch; without one, the batch derives it
    from its id and the item's position, which is stable as long as a rerun gets the
    same inputs in the same order (the journal checks that).
    """

    recipients: Sequence[GenerateRecipientParam]
    title: NotRequired[str]
    external_id: NotRequired[str]


class FieldParam(TypedDict):
    """A field to place; `recipient` is an index into the item's `recipients`."""

    recipient: int
    type: FieldType | str
    page: int
    x: float
    y: float
    width: float
    height: float


class CreateItem(TypedDict):
    """One document to upload, fill with fields and send. `external_id` as in `GenerateItem`."""

    file: FileInput
    title: str
    recipients: Sequence[RecipientParam]
    fields: Sequence[FieldParam]
    external_id: NotRequired[str]
