"""The multipart PDF upload that pacta_async builds itself."""

from __future__ import annotations

import email.parser
import email.policy
import gc
import io
import warnings
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest

from pacta_async import APIConnectionError, InvalidInputError, PactaClient
from pacta_async._multipart import CHUNK_BYTES, MAX_FILE_BYTES, MultipartUpload, open_pdf
from pacta_async.testing import FakeClock

from .support import TOKEN, Script, document, make_client

pytestmark = pytest.mark.anyio

# A PDF body that contains what fixed boundaries are made of.
PDF = b"%PDF-1.7\n" + b"+++\r\n--+++--\r\n" * 10 + b"%%EOF\n"


def parse(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """Parse a multipart body with the stdlib's MIME parser (independent of ours)."""
    raw = f"Content-Type: {content_type}\r\n\r\n".encode() + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        parts[str(name)] = (part.get_filename(), payload)
    return parts


async def test_recipients_go_out_as_indexed_parts() -> None:
    script = Script([httpx.Response(201, json=document(42))])
    async with make_client(script) as client:
        created = await client.documents.create(
            PDF,
            title="Q4 vendor agreement",
            external_id="crm-1",
            recipients=[
                {"name": "John Doe", "email": "john@acme.com", "role": "SIGNER"},
                {"name": "Ann", "email": "ann@acme.com", "role": "CC", "signing_order": 2},
            ],
        )
    assert created.id == 42
    request = script.requests[0]
    parts = parse(script.bodies[0], request.headers["content-type"])
    assert parts["title"] == (None, b"Q4 vendor agreement")
    assert parts["externalId"] == (None, b"crm-1")
    assert parts["recipients[0][name]"] == (None, b"John Doe")
    assert parts["recipients[0][email]"] == (None, b"john@acme.com")
    assert parts["recipients[0][role]"] == (None, b"SIGNER")
    assert parts["recipients[1][role]"] == (None, b"CC")
    assert parts["recipients[1][signingOrder]"] == (None, b"2")
    assert "recipients[0][signingOrder]" not in parts
    assert parts["file"] == ("document.pdf", PDF)
    assert int(request.headers["content-length"]) == len(script.bodies[0])


async def test_the_boundary_is_random() -> None:
    pdf = await open_pdf(PDF)
    first = MultipartUpload(pdf, title="t", external_id=None, recipients=[])
    second = MultipartUpload(pdf, title="t", external_id=None, recipients=[])
    assert first.boundary != second.boundary
    assert len(first.boundary) == 32
    assert "+++" not in first.headers["Content-Type"]


async def test_a_file_on_disk_is_streamed_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big contract.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"x" * (3 * CHUNK_BYTES + 17))
    pdf = await open_pdf(path)
    body = MultipartUpload(pdf, title="t", external_id=None, recipients=[])
    chunks = [chunk async for chunk in body][1:-1]  # between the form fields and the end
    assert max(len(c) for c in chunks) <= CHUNK_BYTES
    assert len(chunks) == 4
    assert b"".join(chunks) == path.read_bytes()
    assert pdf.filename == "big contract.pdf"


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_an_upload_cut_off_half_way_leaves_nothing_to_finalise(tmp_path: Path) -> None:
    """trio warns of any async generator collected unfinished; the body has none."""

    class ResetHalfWay(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            async for _ in request.stream:  # type: ignore[union-attr]
                raise httpx.WriteError("connection reset while sending", request=request)
            raise AssertionError("unreachable")

    path = tmp_path / "contract.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"x" * (3 * CHUNK_BYTES))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = PactaClient(TOKEN, transport=ResetHalfWay(), rate_limiter=None, max_retries=0)
        async with client:
            for file in (path, path.read_bytes()):
                with pytest.raises(APIConnectionError):
                    await client.documents.create(file, title="t")
        gc.collect()
        await anyio.lowlevel.checkpoint()
    assert [str(w.message) for w in caught] == []


async def test_a_retried_upload_sends_the_whole_file_again(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "c.pdf"
    path.write_bytes(PDF * 1000)
    script = Script([httpx.ConnectError("refused"), httpx.Response(201, json=document(5))])
    async with make_client(script, clock) as client:
        await client.documents.create(path, title="t")
    assert len(script.requests) == 2
    assert script.bodies[0] == script.bodies[1]
    assert parse(script.bodies[1], script.requests[1].headers["content-type"])["file"][1] == (
        PDF * 1000
    )


async def test_a_file_object_is_rewound_for_a_retry(clock: FakeClock) -> None:
    stream = io.BytesIO(PDF)
    stream.seek(3)  # wherever the caller left it
    script = Script([httpx.ConnectError("refused"), httpx.Response(201, json=document(5))])
    async with make_client(script, clock) as client:
        await client.documents.create(stream, title="t", filename="x.pdf")
    for body, request in zip(script.bodies, script.requests, strict=True):
        assert parse(body, request.headers["content-type"])["file"] == ("x.pdf", PDF)


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (b"", "empty"),
        (b"hello world", "not a PDF"),
        (b"%PDF", "not a PDF"),
        (io.StringIO("%PDF-1.4"), "binary mode"),
        (12345, "must be a path, bytes or a binary file object"),
    ],
)
async def test_bad_files_are_refused_before_sending(file: object, message: str) -> None:
    script = Script([httpx.Response(201, json=document())])
    async with make_client(script) as client:
        with pytest.raises(InvalidInputError, match=message):
            await client.documents.create(file, title="t")  # type: ignore[arg-type]
    assert script.requests == []


async def test_an_oversize_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.pdf"
    with path.open("wb") as f:
        f.write(b"%PDF-1.4\n")
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written or read
    with pytest.raises(InvalidInputError, match="at most 52428800"):
        await open_pdf(path)


async def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read"):
        await open_pdf(tmp_path / "nope.pdf")


async def test_a_file_that_shrinks_during_upload_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "c.pdf"
    path.write_bytes(PDF * 100)
    pdf = await open_pdf(path)
    path.write_bytes(PDF)
    with pytest.raises(InvalidInputError, match="shorter"):
        async for _ in MultipartUpload(pdf, title="t", external_id=None, recipients=[]):
            pass


async def test_filenames_cannot_break_the_part_headers() -> None:
    pdf = await open_pdf(PDF, 'evil"\r\nX-Injected: 1.pdf')
    body = b"".join(
        [chunk async for chunk in MultipartUpload(pdf, title="t", external_id=None, recipients=[])]
    )
    assert b"X-Injected: 1" not in body.split(b"\r\n")
