"""The token appears nowhere: not in any error, repr, log line, pickle or rich traceback.

Every error path runs once; everything a user could print or store about the error is
searched for any 8-character piece of the token.
"""

# The case table is one row per line, which is easier to scan than wrapped rows.
# ruff: noqa: E501

from __future__ import annotations

import io
import logging
import pickle
import traceback
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from rich.console import Console
from rich.traceback import Traceback

from pacta_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    EventLoopMismatchError,
    InvalidInputError,
    NotFoundError,
    PactaClient,
    PactaError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from pacta_async.testing import FakeClock, Faults, ReferenceServer, make_pdf

from .support import Script, document

pytestmark = pytest.mark.anyio

TOKEN = "api_Zq8LmN4pXr7TvW2sKd9FhJ3bYc6GaE1u"  # 36 characters, as Pacta's
PIECE = 8


def pieces(secret: str) -> set[str]:
    return {secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1)}


def leaked(text: str) -> list[str]:
    return sorted(piece for piece in pieces(TOKEN) if piece in text)


def echo_page(request: httpx.Request, *, filler: int = 0, status: int = 502) -> httpx.Response:
    """A proxy page that echoes the request's headers, the token `filler` chars in."""
    head = "<html><h1>Bad Gateway</h1><pre>" + "x" * filler
    lines = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
    return httpx.Response(
        status,
        headers={"content-type": "text/html", "x-echo-auth": request.headers["authorization"]},
        text=f"{head}\nAuthorization: {request.headers['authorization']}\n{lines}</pre>",
    )


def client_for(reply: object, **options: object) -> PactaClient:
    options.setdefault("rate_limiter", None)
    options.setdefault("max_retries", 0)
    return PactaClient(
        TOKEN,
        base_url="https://sign.pacta.ink/api/v1",
        transport=Script([reply]).transport(),  # type: ignore[list-item]
        **options,  # type: ignore[arg-type]
    )


Call = Callable[[PactaClient], Awaitable[object]]


def get(client: PactaClient) -> Awaitable[object]:
    return client.documents.get(1)


def upload(client: PactaClient) -> Awaitable[object]:
    return client.documents.create(make_pdf(1), title="t")


def listing(client: PactaClient) -> Awaitable[object]:
    return client.documents.list()


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": "no", "details": None})


PATHS: list[tuple[str, object, Call, type[PactaError]]] = [
    ("404", _error(404, "NOT_FOUND"), get, NotFoundError),
    ("401", _error(401, "UNAUTHORIZED"), get, AuthenticationError),
    ("429", httpx.Response(429, headers={"Retry-After": "1"}), get, RateLimitError),
    ("502 echoing the headers", echo_page, get, ServerError),
    ("502 with the token cut by the snippet", lambda r: echo_page(r, filler=170), get, ServerError),
    ("the token cut by the proxy", lambda r: echo_page(r, filler=0), upload, ServerError),
    (
        "a message quoting the token",
        lambda r: httpx.Response(
            400,
            json={"code": "VALIDATION_ERROR", "message": f"bad {r.headers['authorization']}"},
        ),
        get,
        APIStatusError,
    ),
    ("a redirect", lambda r: httpx.Response(302, headers={"location": "/login"}), get, APIStatusError),
    ("connection", httpx.ConnectError("connection refused"), get, APIConnectionError),
    ("timeout", httpx.ReadTimeout("timed out"), get, APITimeoutError),
    ("200 login page", lambda r: echo_page(r, status=200), get, ResponseValidationError),
    ("200 login page on upload", lambda r: echo_page(r, status=200), upload, ResponseValidationError),
    ("200 missing a field", httpx.Response(200, json={"id": 1}), get, ResponseValidationError),
    ("200 wrong list", httpx.Response(200, json={"documents": 3}), listing, ResponseValidationError),
]  # fmt: skip


def everything_about(error: BaseException) -> Iterator[tuple[str, str]]:
    """Every way a user might see or store the error."""
    yield "str", str(error)
    yield "repr", repr(error)
    yield "format_exception", "".join(traceback.format_exception(error))
    console = Console(file=io.StringIO(), width=300, color_system=None)
    console.print(
        Traceback.from_exception(type(error), error, error.__traceback__, show_locals=True)
    )
    yield "rich traceback", console.file.getvalue()  # type: ignore[attr-defined]
    yield "pickle", pickle.dumps(error).decode("latin-1")
    for name in ("request", "response"):
        value = getattr(error, name, None)
        if isinstance(value, httpx.Request):
            yield f"{name} headers", str(value.headers.multi_items())
        if isinstance(value, httpx.Response):
            yield "response body", value.text
            yield "response headers", str(value.headers.multi_items())
            yield "request headers", str(value.request.headers.multi_items())
    yield "vars", repr(vars(error))


async def fail(call: Call, client: PactaClient) -> PactaError:
    try:
        await call(client)
    except PactaError as exc:
        return exc
    raise AssertionError("no error")


@pytest.mark.parametrize(("case", "reply", "call", "error"), PATHS, ids=[p[0] for p in PATHS])
async def test_no_error_carries_any_piece_of_the_token(
    case: str, reply: object, call: Call, error: type[PactaError], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pacta_async")
    async with client_for(reply) as client:
        caught = await fail(call, client)
    assert isinstance(caught, error), (case, caught)
    for where, text in everything_about(caught):
        assert leaked(text) == [], (case, where)
    assert leaked(caplog.text) == []


@pytest.mark.parametrize(("case", "reply", "call", "error"), PATHS, ids=[p[0] for p in PATHS])
async def test_errors_pickle_round_trip(
    case: str, reply: object, call: Call, error: type[PactaError]
) -> None:
    async with client_for(reply) as client:
        caught = await fail(call, client)
    copy = pickle.loads(pickle.dumps(caught))
    assert type(copy) is type(caught)
    assert str(copy) == str(caught)
    for name in ("status_code", "code", "details", "message", "field"):
        assert getattr(copy, name, None) == getattr(caught, name, None), name
    if isinstance(caught, APIStatusError | ResponseValidationError):
        assert copy.response.content == caught.response.content
        assert copy.request.url == caught.request.url


async def test_retries_and_their_logs_carry_no_token(
    caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    caplog.set_level(logging.DEBUG, logger="pacta_async")
    events: list[object] = []
    script = Script(
        [echo_page, httpx.ConnectError("refused"), httpx.Response(200, json=document())]
    )
    client = PactaClient(
        TOKEN, transport=script.transport(), rate_limiter=None, on_retry=events.append, clock=clock
    )
    async with client:
        await client.documents.get(1)
    assert len(events) == 2
    assert leaked(repr(events) + caplog.text) == []


async def test_other_errors_carry_no_token() -> None:
    client = client_for(httpx.Response(200, json=document()))
    errors: list[BaseException] = []
    for call in (
        lambda: client.documents.get(0),
        lambda: client.documents.get(1, timeout="5"),  # type: ignore[arg-type]
        lambda: client.documents.create(b"GIF89a", title="t"),
    ):
        try:
            await call()
        except InvalidInputError as exc:
            errors.append(exc)
    await client.aclose()
    try:
        await client.documents.get(1)
    except ClientClosedError as exc:
        errors.append(exc)
    assert len(errors) == 4
    for error in errors:
        for where, text in everything_about(error):
            assert leaked(text) == [], where


def test_nothing_the_client_holds_shows_the_token() -> None:
    client = PactaClient(TOKEN)
    shown = [repr(client), str(client), repr(client._api)]
    shown.append(repr(client._api.get_async_httpx_client().headers))
    assert leaked(" ".join(shown)) == []
    with pytest.raises(TypeError):
        pickle.dumps(client)


def test_a_cross_loop_error_carries_no_token() -> None:
    import asyncio

    client = client_for(httpx.Response(200, json=document()))
    asyncio.run(client.documents.get(1))  # type: ignore[arg-type]
    with pytest.raises(EventLoopMismatchError) as caught:
        asyncio.run(client.documents.get(1))  # type: ignore[arg-type]
    for where, text in everything_about(caught.value):
        assert leaked(text) == [], where


# -- against the reference server, over a real socket --------------------------------------


@pytest.mark.parametrize(
    "faults",
    [
        Faults(error_rate=1.0, error_statuses=(502,)),
        Faults(drop_before_rate=1.0),
        Faults(login_page_rate=1.0),
    ],
    ids=["proxy page echoing headers", "dropped connection", "login page"],
)
def test_over_loopback_no_error_carries_the_token(faults: Faults) -> None:
    import anyio

    server = ReferenceServer(faults=[faults])
    token = server.create_token(server.create_team())
    own = pieces(token)

    async def main(base_url: str) -> PactaError:
        async with PactaClient(token, base_url=base_url, rate_limiter=None, max_retries=0) as c:
            return await fail(get, c)

    with server.serve_in_thread() as base_url:
        caught = anyio.run(main, base_url)
    assert isinstance(caught, ServerError | APIConnectionError | ResponseValidationError)
    for where, text in everything_about(caught):
        assert not [piece for piece in own if piece in text], where
