"""Raw access: any request through the client's stack, raw and streaming responses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pacta_api.api.documents import get_document
from pacta_api.models import Document

from pacta_async import (
    APIConnectionError,
    APIResponse,
    InvalidInputError,
    NotFoundError,
    PactaClient,
    ServerError,
    TokenBucketLimiter,
)
from pacta_async.testing import FakeClock

from .support import BASE, TOKEN, Script, document, make_client

pytestmark = pytest.mark.anyio

LIMITS = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "57", "X-RateLimit-Reset": "0"}


async def test_get_parses_json_or_a_generated_model_with_auth_and_query() -> None:
    script = Script([httpx.Response(200, json=document(42))])
    async with make_client(script) as client:
        raw = await client.get("/documents/42", params={"a": "1"}, extra_query={"b": "2"})
        parsed = await client.get("/documents/42", cast_to=Document)
    assert raw["id"] == 42
    assert isinstance(parsed, Document)
    assert parsed.id == 42
    request = script.requests[0]
    assert request.headers["authorization"] == TOKEN
    assert str(request.url) == f"{BASE}/documents/42?a=1&b=2"


async def test_post_merges_extra_body_and_extra_headers() -> None:
    script = Script([httpx.Response(201, json={"ok": True})])
    async with make_client(script) as client:
        await client.post(
            "/documents/1/probe",
            json={"title": "t"},
            extra_body={"probe": 1},
            extra_headers={"X-Probe": "yes"},
        )
    assert script.bodies[0] == b'{"title":"t","probe":1}'
    assert script.requests[0].headers["x-probe"] == "yes"


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("https://evil.example/steal", {}),
        ("//evil.example/steal", {}),
        ("documents", {}),
        ("/documents", {"extra_headers": {"Authorization": "api_other"}}),
        ("/documents", {"json": [1], "extra_body": {"a": 1}}),
        ("/documents", {"json": {}, "content": b"x"}),
        ("/documents", {"max_retries": -1}),
    ],
)
async def test_bad_input_is_refused_before_anything_is_sent(
    path: str, options: dict[str, object]
) -> None:
    script = Script([httpx.Response(200, json={})])
    async with make_client(script) as client:
        with pytest.raises(InvalidInputError):
            await client.request("POST", path, **options)  # type: ignore[arg-type]
    assert script.requests == []


async def test_errors_are_typed_and_idempotent_requests_retried(clock: FakeClock) -> None:
    script = Script(
        [
            httpx.Response(503, text="<html>bad gateway</html>"),
            httpx.Response(200, json=document(1)),
        ]
    )
    async with make_client(script, clock=clock) as client:
        assert (await client.get("/documents/1"))["id"] == 1
    assert len(script.requests) == 2
    missing = Script(
        [httpx.Response(404, json={"code": "NOT_FOUND", "message": "no", "details": None})]
    )
    async with make_client(missing, clock=clock) as client:
        with pytest.raises(NotFoundError):
            await client.delete("/documents/9")


async def test_with_options_overrides_retries_and_shares_the_limiter(clock: FakeClock) -> None:
    script = Script([httpx.Response(503, text="down")])
    limiter = TokenBucketLimiter(clock=clock)
    async with make_client(script, clock=clock, rate_limiter=limiter) as client:
        no_retries = client.with_options(max_retries=0, timeout=5)
        assert no_retries.rate_limiter is limiter
        with pytest.raises(ServerError):
            await no_retries.get("/documents/1")
        assert len(script.requests) == 1
        with pytest.raises(ServerError):
            await client.get("/documents/1")
        assert len(script.requests) == 4  # the original still retries twice
        assert script.requests[0].extensions["timeout"]["read"] == 5
    await no_retries.aclose()  # a copy leaves the connections to the original


async def test_raw_response_keeps_status_and_headers() -> None:
    script = Script([httpx.Response(200, json=document(3), headers=LIMITS)])
    async with make_client(script) as client:
        response = await client.with_raw_response.get("/documents/3")
    assert isinstance(response, APIResponse)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "57"
    assert (await response.parse(Document)).id == 3


async def test_generated_endpoint_through_the_configured_low_level_client(
    clock: FakeClock,
) -> None:
    script = Script(
        [
            httpx.Response(500, json={"code": "INTERNAL_ERROR", "message": "x", "details": None}),
            httpx.Response(200, json=document(5)),
        ]
    )
    async with make_client(script, clock=clock) as client:
        detailed = await get_document.asyncio_detailed(5, client=client.generated_client)
    assert isinstance(detailed.parsed, Document)
    assert detailed.parsed.id == 5
    assert detailed.headers is not None
    assert len(script.requests) == 2


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes], fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if self.fail_after is not None and index == self.fail_after:
                raise httpx.ReadError("connection dropped mid-body")
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


async def test_streaming_hands_the_body_over_unread(clock: FakeClock) -> None:
    stream = _Chunks([b"%PDF-", b"x" * 1000, b"%%EOF"])
    script = Script(
        [
            httpx.Response(503, text="busy"),  # before the body starts: retried
            httpx.Response(200, headers={"Content-Type": "application/pdf"}, stream=stream),
        ]
    )
    client = make_client(script, clock=clock)
    async with client, client.with_streaming_response.get("/files/1") as response:
        assert response.headers["content-type"] == "application/pdf"
        chunks = [chunk async for chunk in response.iter_bytes()]
    assert b"".join(chunks) == b"%PDF-" + b"x" * 1000 + b"%%EOF"
    assert len(script.requests) == 2
    assert stream.closed


async def test_a_stream_dropped_mid_body_is_not_retried(clock: FakeClock) -> None:
    stream = _Chunks([b"%PDF-", b"rest"], fail_after=1)
    script = Script([httpx.Response(200, stream=stream)])
    client = make_client(script, clock=clock)
    async with client, client.with_streaming_response.get("/files/1") as response:
        with pytest.raises(APIConnectionError, match="body was interrupted: ReadError"):
            async for _ in response.iter_bytes():
                pass
    assert len(script.requests) == 1


async def test_a_streamed_error_status_is_typed_not_streamed() -> None:
    script = Script(
        [httpx.Response(404, json={"code": "NOT_FOUND", "message": "no", "details": None})]
    )
    async with make_client(script) as client:
        with pytest.raises(NotFoundError):
            async with client.with_streaming_response.get("/files/1"):
                pass


async def test_send_routes_decide_what_takes_a_send_token() -> None:
    sends: list[bool] = []

    class Recording(TokenBucketLimiter):
        async def acquire(
            self, *, send: bool, place: int | None = None, timeout: float | None = None
        ) -> int | None:
            sends.append(send)
            return None

    script = Script([httpx.Response(200, json={})])
    client = PactaClient(
        TOKEN,
        base_url=BASE,
        transport=script.transport(),
        rate_limiter=Recording(),
        send_routes=["POST /documents/{documentId}/send", "POST /documents/{documentId}/probe"],
    )
    async with client:
        await client.post("/documents/1/probe")
        await client.post("/documents/1/send")
        await client.post("/templates/1/generate")
        await client.get("/documents/1/probe")
    assert sends == [True, True, False, False]


def test_a_malformed_send_route_is_a_configuration_error() -> None:
    from pacta_async import ConfigurationError

    with pytest.raises(ConfigurationError):
        PactaClient(TOKEN, send_routes=["/documents/{id}/send"])
    with pytest.raises(ConfigurationError):
        PactaClient(TOKEN, send_routes="POST /documents/{id}/send")


async def test_a_non_json_success_needs_cast_to_bytes() -> None:
    script = Script(
        [httpx.Response(200, content=b"%PDF-1.7", headers={"Content-Type": "application/pdf"})]
    )
    async with make_client(script) as client:
        assert await client.get("/files/1", cast_to=bytes) == b"%PDF-1.7"
        with pytest.raises(Exception, match="not JSON") as info:
            await client.get("/files/1")
    assert not isinstance(info.value, APIConnectionError)


async def test_a_large_streamed_body_is_not_read_before_the_caller_reads_it() -> None:
    produced: list[int] = []

    class Lazy(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for index in range(50 * 16):  # 50 MiB in 64 KiB chunks
                produced.append(index)
                yield b"\0" * 65536

    script = Script([httpx.Response(200, stream=Lazy())])
    client = make_client(script)
    async with client, client.with_streaming_response.get("/files/big") as response:
        assert produced == []  # nothing read yet: the transport handed the body over
        total = 0
        async for chunk in response.iter_bytes():
            total += len(chunk)
    assert total == 50 * 1024 * 1024


async def test_the_configured_httpx_client_keeps_a_call_s_own_auth_and_merges_paths() -> None:
    """The client's httpx client skips httpx's auth flow only when nobody asks for one."""
    script = Script([httpx.Response(200, json=document(7)), httpx.Response(200, json=document(8))])
    async with make_client(script) as client:
        http = client.generated_client.get_async_httpx_client()
        answer = await http.get("/documents/7", params={"a": "1"})
        await http.get("/documents/8", auth=httpx.BasicAuth("user", "secret"))
    assert answer.elapsed.total_seconds() >= 0  # as on httpx's own send path
    first, second = script.requests
    assert str(first.url) == f"{BASE}/documents/7?a=1"
    assert first.headers["authorization"] == TOKEN
    assert second.headers["authorization"].startswith("Basic ")
