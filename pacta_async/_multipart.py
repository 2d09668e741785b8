"""The PDF upload body, built here rather than by the generated client.

The generated multipart code sends recipients as JSON parts (Pacta wants
`recipients[i][name]` parts), uses a fixed boundary that a PDF can contain, and
holds the whole file in memory. This body streams the file from disk in chunks,
uses a random boundary, and can be iterated again, so a retried upload starts over
from the first byte.
"""

from __future__ import annotations

import inspect
import io
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO, cast

import anyio
import anyio.to_thread
import httpx

from ._errors import InvalidInputError
from ._params import AsyncBinaryFile, FileInput, RecipientParam

__all__ = ["MAX_FILE_BYTES", "FileInput", "MultipartUpload", "open_pdf"]

MAX_FILE_BYTES = 50 * 1024 * 1024
CHUNK_BYTES = 256 * 1024


class PdfSource:
    """A checked PDF: where its bytes come from, its size and its filename."""

    def __init__(
        self, data: bytes | Path | BinaryIO | AsyncBinaryFile, *, size: int, filename: str
    ) -> None:
        self._data = data
        self.size = size
        self.filename = filename

    async def read_at(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes from `offset`. Nothing stays open between reads, so an
        upload abandoned half-way (a dropped connection) leaves nothing to clean up."""
        data = self._data
        if isinstance(data, bytes):
            return data[offset : offset + size]
        if isinstance(data, Path):
            return await anyio.to_thread.run_sync(_read_path_at, data, offset, size)
        if _is_async_file(data):
            async_file = cast(AsyncBinaryFile, data)
            await async_file.seek(offset)
            return await async_file.read(size)
        return await anyio.to_thread.run_sync(_read_stream_at, cast(BinaryIO, data), offset, size)


def _read_path_at(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as file:
        file.seek(offset)
        return file.read(size)


def _read_stream_at(stream: BinaryIO, offset: int, size: int) -> bytes:
    stream.seek(offset)
    return stream.read(size)


def _check_pdf(head: bytes, size: int) -> None:
    if size == 0:
        raise InvalidInputError("the file is empty", field="file")
    if size > MAX_FILE_BYTES:
        raise InvalidInputError(
            f"the file is {size} bytes; Pacta accepts at most {MAX_FILE_BYTES} (50 MiB)",
            field="file",
        )
    if not head.startswith(b"%PDF-"):
        raise InvalidInputError(
            "the file is not a PDF (it does not start with %PDF-)", field="file"
        )


def _inspect_path(path: Path) -> tuple[bytes, int]:
    try:
        with path.open("rb") as file:
            return file.read(5), os.fstat(file.fileno()).st_size
    except OSError as exc:
        raise InvalidInputError(f"cannot read {str(path)!r}: {exc.strerror}", field="file") from exc


_BINARY_MODE = "the file object must be opened in binary mode ('rb'), not text mode"


def _is_async_file(file: object) -> bool:
    return inspect.iscoroutinefunction(getattr(file, "read", None))


def _inspect_stream(stream: BinaryIO) -> tuple[bytes, int]:
    if isinstance(stream, io.TextIOBase):
        raise InvalidInputError(_BINARY_MODE, field="file")
    if not stream.seekable():
        raise InvalidInputError(
            "the file object must be seekable (it is re-read on retry)", field="file"
        )
    start = stream.seek(0, os.SEEK_SET)
    try:
        head = stream.read(5)
    except UnicodeDecodeError:  # a text-mode file that is not io.TextIOBase
        raise InvalidInputError(_BINARY_MODE, field="file") from None
    size = stream.seek(0, os.SEEK_END)
    stream.seek(start)
    return head, size


async def _inspect_async_file(file: AsyncBinaryFile) -> tuple[bytes, int]:
    try:
        await file.seek(0, os.SEEK_SET)
        head = await file.read(5)
        size = await file.seek(0, os.SEEK_END)
        await file.seek(0, os.SEEK_SET)
    except UnicodeDecodeError:
        raise InvalidInputError(_BINARY_MODE, field="file") from None
    except (OSError, ValueError) as exc:  # not seekable, or closed
        raise InvalidInputError(
            f"the file object cannot be read from the start: {exc}", field="file"
        ) from None
    return head, size


async def open_pdf(file: FileInput, filename: str | None = None) -> PdfSource:
    """Check a path, bytes or binary file object, reading only its first bytes."""
    if isinstance(file, bytes | bytearray | memoryview):
        data = bytes(file)
        _check_pdf(data[:5], len(data))
        return PdfSource(data, size=len(data), filename=filename or "document.pdf")
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        head, size = await anyio.to_thread.run_sync(_inspect_path, path)
        _check_pdf(head, size)
        return PdfSource(path, size=size, filename=filename or path.name)
    if not hasattr(file, "read") or not hasattr(file, "seek"):
        raise InvalidInputError(
            f"file must be a path, bytes or a binary file object, got {type(file).__name__}",
            field="file",
        )
    if _is_async_file(file):
        head, size = await _inspect_async_file(cast(AsyncBinaryFile, file))
    else:
        head, size = await anyio.to_thread.run_sync(_inspect_stream, cast(BinaryIO, file))
    if not isinstance(head, bytes):
        raise InvalidInputError(_BINARY_MODE, field="file")
    _check_pdf(head, size)
    name = filename or Path(str(getattr(file, "name", "") or "document.pdf")).name
    return PdfSource(file, size=size, filename=name)


def _quote(value: str) -> str:
    """Quote a Content-Disposition parameter the way browsers do (RFC 7578)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartUpload(httpx.AsyncByteStream):
    """A `multipart/form-data` body with known length that can be sent more than once.

    Given to httpx as the request's stream (not as `content=`, which httpx would wrap in
    an async generator of its own)."""

    def __init__(
        self,
        pdf: PdfSource,
        *,
        title: str,
        external_id: str | None,
        recipients: Sequence[RecipientParam],
    ) -> None:
        self.boundary = secrets.token_hex(16)
        fields: list[tuple[str, str]] = [("title", title)]
        if external_id is not None:
            fields.append(("externalId", external_id))
        for i, recipient in enumerate(recipients):
            fields.append((f"recipients[{i}][name]", recipient["name"]))
            fields.append((f"recipients[{i}][email]", recipient["email"]))
            fields.append((f"recipients[{i}][role]", str(recipient.get("role", "SIGNER"))))
            if "signing_order" in recipient:
                fields.append((f"recipients[{i}][signingOrder]", str(recipient["signing_order"])))
        dash = f"--{self.boundary}\r\n"
        head = "".join(
            f'{dash}Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{value}\r\n'
            for name, value in fields
        )
        filename = _quote(pdf.filename)
        head += (
            f'{dash}Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        )
        self._head = head.encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._pdf = pdf

    @property
    def headers(self) -> dict[str, str]:
        length = len(self._head) + self._pdf.size + len(self._tail)
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(length),
        }

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _Chunks(self._head, self._pdf, self._tail)


class _Chunks(AsyncIterator[bytes]):
    """One pass over the body, from the first byte. A plain object, not an async
    generator: abandoned mid-upload, it leaves nothing to finalise (trio would warn)."""

    def __init__(self, head: bytes, pdf: PdfSource, tail: bytes) -> None:
        self._head: bytes | None = head
        self._pdf = pdf
        self._offset = 0
        self._tail: bytes | None = tail

    async def __anext__(self) -> bytes:
        if self._head is not None:
            head, self._head = self._head, None
            return head
        if self._offset < self._pdf.size:
            want = min(CHUNK_BYTES, self._pdf.size - self._offset)
            chunk = await self._pdf.read_at(self._offset, want)
            if not chunk:
                raise InvalidInputError(
                    "the file got shorter while it was being uploaded", field="file"
                )
            self._offset += len(chunk)
            return chunk
        if self._tail is not None:
            tail, self._tail = self._tail, None
            return tail
        raise StopAsyncIteration
