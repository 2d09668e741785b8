from __future__ import annotations

import httpx
import pytest

from pacta_async import ConfigurationError, PactaClient

from .support import TOKEN, Script, document, make_client

pytestmark = pytest.mark.anyio


def test_token_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACTA_API_TOKEN", TOKEN)
    monkeypatch.setenv("PACTA_BASE_URL", "https://pacta.example.com")
    client = PactaClient()
    assert client.base_url == "https://pacta.example.com/api/v1"


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACTA_API_TOKEN", "api_from_env_000000")
    monkeypatch.setenv("PACTA_BASE_URL", "https://env.example.com/api/v1")
    client = PactaClient(TOKEN, base_url="https://arg.example.com/api/v1/")
    assert client.base_url == "https://arg.example.com/api/v1"
    assert client._token == TOKEN


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PACTA_BASE_URL", raising=False)
    assert PactaClient(TOKEN).base_url == "https://sign.pacta.ink/api/v1"


def test_missing_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PACTA_API_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="PACTA_API_TOKEN"):
        PactaClient()


@pytest.mark.parametrize("token", [f"Bearer {TOKEN}", f"bearer {TOKEN}"])
def test_bearer_prefix_is_refused(token: str) -> None:
    with pytest.raises(ConfigurationError, match="without the 'Bearer' prefix"):
        PactaClient(token)


@pytest.mark.parametrize("token", [f"{TOKEN}\n", f" {TOKEN}", "api_a b"])
def test_token_with_whitespace_is_refused(token: str) -> None:
    with pytest.raises(ConfigurationError, match="whitespace"):
        PactaClient(token)


def test_plain_http_is_refused_except_for_loopback() -> None:
    with pytest.raises(ConfigurationError, match="plain http"):
        PactaClient(TOKEN, base_url="http://pacta.example.com/api/v1")
    for host in ("127.0.0.1:8080", "localhost:8080", "[::1]:8080", "127.0.0.5"):
        assert PactaClient(TOKEN, base_url=f"http://{host}").base_url.startswith("http://")
    allowed = PactaClient(TOKEN, base_url="http://pacta.internal", allow_insecure_http=True)
    assert allowed.base_url == "http://pacta.internal/api/v1"


def test_the_token_is_never_in_repr() -> None:
    client = PactaClient(TOKEN)
    assert TOKEN not in repr(client)
    assert "api_...cdef" in repr(client)


def test_http_client_and_transport_are_exclusive() -> None:
    with pytest.raises(ConfigurationError):
        PactaClient(TOKEN, http_client=httpx.AsyncClient(), transport=httpx.MockTransport(print))


async def test_a_users_http_client_is_used_and_left_open() -> None:
    script = Script([httpx.Response(200, json=document())])
    async with httpx.AsyncClient(transport=script.transport()) as http:
        async with PactaClient(TOKEN, http_client=http, rate_limiter=None) as client:
            await client.documents.get(1)
        assert not http.is_closed
    request = script.requests[0]
    assert request.headers["authorization"] == TOKEN  # raw token, no "Bearer"
    assert str(request.url) == "https://sign.pacta.ink/api/v1/documents/1"


async def test_the_token_goes_out_raw() -> None:
    script = Script([httpx.Response(200, json=document())])
    async with make_client(script) as client:
        await client.documents.get(1)
    assert script.requests[0].headers["authorization"] == TOKEN


async def test_a_client_works_without_async_with() -> None:
    script = Script([httpx.Response(200, json=document())])
    client = make_client(script)
    assert (await client.documents.get(1)).id == 1
    await client.aclose()


def test_pacta_log_switches_on_a_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from pacta_async._logging import logger, setup_logging

    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setenv("PACTA_LOG", "debug")
    setup_logging()
    assert logger.level == logging.DEBUG
    assert len(logger.handlers) == 1
    setup_logging()  # idempotent
    assert len(logger.handlers) == 1


def test_without_pacta_log_nothing_is_attached(monkeypatch: pytest.MonkeyPatch) -> None:
    from pacta_async._logging import logger, setup_logging

    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.delenv("PACTA_LOG", raising=False)
    setup_logging()
    assert logger.handlers == []
