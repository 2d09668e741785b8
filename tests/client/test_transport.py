"""Retries, typed errors and logging: the layer under every request."""

from __future__ import annotations

import email.utils
import logging

import httpx
import pytest

from pacta_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InvalidDocumentStatusError,
    InvalidFileError,
    NotFoundError,
    PermissionDeniedError,
    PlanRequiredError,
    RateLimitError,
    RetryBudget,
    RetryEvent,
    ServerError,
)
from pacta_async._transport import is_send
from pacta_async.testing import FakeClock

from .support import TOKEN, Script, document, make_client

pytestmark = pytest.mark.anyio


def error(status: int, code: str, message: str = "no", **details: object) -> httpx.Response:
    return httpx.Response(
        status, json={"code": code, "message": message, "details": details or None}
    )


OK = httpx.Response(200, json=document())


async def test_idempotent_request_is_retried_on_5xx_with_backoff(clock: FakeClock) -> None:
    events: list[RetryEvent] = []
    script = Script([error(503, "INTERNAL_ERROR"), error(500, "INTERNAL_ERROR"), OK])
    async with make_client(script, clock, on_retry=events.append) as client:
        assert (await client.documents.get(1)).id == 1
    assert len(script.requests) == 3
    assert [e.status_code for e in events] == [503, 500]
    assert 0.25 <= events[0].delay <= 0.5  # jittered
    assert 0.5 <= events[1].delay <= 1.0
    assert clock.monotonic() == pytest.approx(events[0].delay + events[1].delay)


async def test_post_is_not_repeated_after_a_5xx(clock: FakeClock) -> None:
    script = Script([error(502, "INTERNAL_ERROR"), OK])
    async with make_client(script, clock) as client:
        with pytest.raises(ServerError) as caught:
            await client.documents.send(1)
    assert len(script.requests) == 1
    assert caught.value.status_code == 502


async def test_post_is_not_repeated_after_a_read_timeout(clock: FakeClock) -> None:
    script = Script([httpx.ReadTimeout("slow"), OK])
    async with make_client(script, clock) as client:
        with pytest.raises(APITimeoutError):
            await client.documents.duplicate(1)
    assert len(script.requests) == 1


async def test_post_is_repeated_when_it_never_left(clock: FakeClock) -> None:
    script = Script([httpx.ConnectError("refused"), httpx.Response(201, json=document(2))])
    async with make_client(script, clock) as client:
        assert (await client.documents.duplicate(1)).id == 2
    assert len(script.requests) == 2


async def test_get_is_repeated_after_a_dropped_connection(clock: FakeClock) -> None:
    script = Script([httpx.RemoteProtocolError("dropped"), httpx.ReadTimeout("slow"), OK])
    async with make_client(script, clock) as client:
        assert (await client.documents.get(1)).id == 1
    assert len(script.requests) == 3


async def test_429_waits_exactly_retry_after_even_for_a_post(clock: FakeClock) -> None:
    limited = httpx.Response(
        429,
        headers={"Retry-After": "7"},
        json={"code": "RATE_LIMITED", "message": "slow down", "details": {"scope": "send"}},
    )
    script = Script([limited, OK])
    async with make_client(script, clock) as client:
        await client.documents.send(1)
    assert len(script.requests) == 2
    assert clock.monotonic() == 7


async def test_retry_after_as_an_http_date(clock: FakeClock) -> None:
    when = email.utils.formatdate(clock.wall() + 30, usegmt=True)
    script = Script([httpx.Response(429, headers={"Retry-After": when}, json={}), OK])
    async with make_client(script, clock) as client:
        await client.documents.get(1)
    assert 29 <= clock.monotonic() <= 30


async def test_a_retry_after_beyond_the_cap_fails_at_once(clock: FakeClock) -> None:
    limited = httpx.Response(
        429,
        headers={"Retry-After": "3600"},
        json={"code": "RATE_LIMITED", "message": "x", "details": {"scope": "general"}},
    )
    script = Script([limited, OK])
    async with make_client(script, clock) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.documents.get(1)
    assert caught.value.retry_after == 3600
    assert caught.value.scope == "general"
    assert clock.monotonic() == 0


async def test_max_retries_per_client_and_per_call(clock: FakeClock) -> None:
    script = Script([error(503, "INTERNAL_ERROR")])
    async with make_client(script, clock, max_retries=4) as client:
        with pytest.raises(ServerError):
            await client.documents.get(1)
        assert len(script.requests) == 5
        with pytest.raises(ServerError):
            await client.documents.get(1, max_retries=0)
        assert len(script.requests) == 6


async def test_the_retry_budget_stops_a_retry_storm(clock: FakeClock) -> None:
    script = Script([error(503, "INTERNAL_ERROR")])
    budget = RetryBudget(ratio=0.0, min_per_second=0.3, ttl=10, clock=clock)
    async with make_client(script, clock, max_retries=10, retry_budget=budget) as client:
        with pytest.raises(ServerError):
            await client.documents.get(1)
        assert len(script.requests) == 4  # 1 + the 3 retries in the budget
        with pytest.raises(ServerError):
            await client.documents.get(1)
        assert len(script.requests) == 5  # budget spent: no retries
        # The floor refills: once the spent retries leave the 10 s window, 3 more.
        clock.advance(10)
        with pytest.raises(ServerError):
            await client.documents.get(1)
        assert len(script.requests) == 9


@pytest.mark.parametrize(
    ("response", "cls", "code"),
    [
        (error(400, "VALIDATION_ERROR", field="title"), BadRequestError, "VALIDATION_ERROR"),
        (
            error(400, "INVALID_DOCUMENT_STATUS"),
            InvalidDocumentStatusError,
            "INVALID_DOCUMENT_STATUS",
        ),
        (error(400, "INVALID_FILE"), InvalidFileError, "INVALID_FILE"),
        (error(401, "UNAUTHORIZED"), AuthenticationError, "UNAUTHORIZED"),
        (error(403, "FORBIDDEN"), PermissionDeniedError, "FORBIDDEN"),
        (error(403, "PLAN_REQUIRED"), PlanRequiredError, "PLAN_REQUIRED"),
        (error(404, "NOT_FOUND"), NotFoundError, "NOT_FOUND"),
        (error(409, "CONFLICT"), APIStatusError, "CONFLICT"),
        (error(500, "INTERNAL_ERROR"), ServerError, "INTERNAL_ERROR"),
    ],
)
async def test_errors_are_typed_by_status_and_code(
    response: httpx.Response, cls: type[APIStatusError], code: str
) -> None:
    script = Script([response])
    async with make_client(script, max_retries=0) as client:
        with pytest.raises(cls) as caught:
            await client.documents.send(1)
    err = caught.value
    assert type(err) is cls
    assert (err.code, err.status_code, err.message) == (code, response.status_code, "no")
    assert err.response.status_code == response.status_code
    assert err.request.url.path == "/api/v1/documents/1/send"


async def test_validation_error_details() -> None:
    script = Script([error(400, "VALIDATION_ERROR", "bad", field="recipients[0].email")])
    async with make_client(script) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.documents.get(1)
    assert caught.value.details == {"field": "recipients[0].email"}
    assert str(caught.value) == "400 VALIDATION_ERROR: bad"


@pytest.mark.parametrize(
    "body",
    [b"<html><body>502 Bad Gateway</body></html>", b"", b"[1, 2]", b"\xff\xfe"],
)
async def test_non_json_error_bodies_never_raise_json_errors(body: bytes) -> None:
    script = Script([httpx.Response(502, content=body, headers={"Content-Type": "text/html"})])
    async with make_client(script, max_retries=0) as client:
        with pytest.raises(ServerError) as caught:
            await client.documents.get(1)
    assert caught.value.code is None
    assert caught.value.message.startswith("HTTP 502")


async def test_the_token_never_appears_in_an_error(clock: FakeClock) -> None:
    echo = error(401, "UNAUTHORIZED", f"token {TOKEN} is unknown")
    script = Script([echo])
    async with make_client(script, clock) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.documents.get(1)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)
    script = Script([httpx.ConnectError(f"failed with {TOKEN}")])
    async with make_client(script, clock, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as conn:
            await client.documents.get(1)
    assert TOKEN not in str(conn.value)


async def test_redirects_are_not_followed_so_the_token_stays_home() -> None:
    elsewhere = Script([OK])
    redirect = httpx.Response(307, headers={"Location": "https://evil.example.com/documents/1"})
    script = Script([redirect])
    async with make_client(script) as client:
        with pytest.raises(APIStatusError, match="redirect"):
            await client.documents.get(1)
    assert len(script.requests) == 1
    assert not elsewhere.requests


async def test_per_call_timeout_reaches_the_request() -> None:
    script = Script([OK])
    async with make_client(script, timeout=30) as client:
        await client.documents.get(1, timeout=2.5)
        await client.documents.get(1)
    # A number is the call's total timeout: the attempt gets what is left of it.
    assert 2.4 < script.requests[0].extensions["timeout"]["read"] <= 2.5
    assert script.requests[1].extensions["timeout"]["read"] == 30


async def test_one_log_line_per_attempt(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pacta_async")
    script = Script([error(503, "INTERNAL_ERROR"), OK])
    async with make_client(script, clock) as client:
        await client.documents.get(1)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(lines) == 2
    assert lines[0].startswith("GET /api/v1/documents/1 503 attempt=1 ")
    assert lines[1].startswith("GET /api/v1/documents/1 200 attempt=2 ")
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_sends_are_recognised() -> None:
    def request(method: str, path: str) -> httpx.Request:
        return httpx.Request(method, f"https://x/api/v1{path}")

    assert is_send(request("POST", "/documents/5/send"))
    assert is_send(request("POST", "/templates/5/generate"))
    assert not is_send(request("GET", "/documents/5"))
    assert not is_send(request("POST", "/documents/5/duplicate"))
    assert not is_send(request("POST", "/documents"))


async def test_an_undocumented_success_status_is_still_parsed() -> None:
    script = Script([httpx.Response(200, json=document(9))])  # documented: 201
    async with make_client(script) as client:
        assert (await client.documents.duplicate(1)).id == 9
