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


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://pacta.example.com", "https://pacta.example.com/api/v1"),
        ("https://pacta.example.com/", "https://pacta.example.com/api/v1"),
        ("https://pacta.example.com/api/v1", "https://pacta.example.com/api/v1"),
        ("https://pacta.example.com/api/v1/", "https://pacta.example.com/api/v1"),
        ("https://pacta.example.com:8443/pacta", "https://pacta.example.com:8443/pacta/api/v1"),
        ("https://example.com/pacta/api/v1", "https://example.com/pacta/api/v1"),
    ],
)
def test_the_instance_url_or_the_api_url(base_url: str, expected: str) -> None:
    assert PactaClient(TOKEN, base_url=base_url).base_url == expected


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("https://pacta.example.com?x=1", "query"),
        ("https://pacta.example.com/api/v1?x=1", "query"),
        ("https://pacta.example.com/api/v1?", "query"),
        ("https://pacta.example.com/#top", "fragment"),
        ("https://pacta.example.com/api", "path"),
        ("https://pacta.example.com/api/v2", "path"),
        ("https://pacta.example.com/api/v1/documents", "path"),
        ("https://pacta.example.com/api/v1/api/v1", "path"),
        ("https://pacta.example.com//api/v1", "empty segment"),
        (" https://pacta.example.com", "whitespace"),
        ("https://pacta.example.com\n", "whitespace"),
        ("https://pacta.example.com/api /v1", "whitespace"),
        ("https://user:secret@pacta.example.com", "credentials"),
        ("https://user@pacta.example.com", "credentials"),
    ],
)
def test_other_base_urls_are_refused_with_the_accepted_forms(base_url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as caught:
        PactaClient(TOKEN, base_url=base_url)
    message = str(caught.value)
    assert "https://pacta.example.com/api/v1" in message  # the accepted forms are shown
    assert "secret" not in message


def test_a_base_url_from_the_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACTA_BASE_URL", "https://pacta.example.com/api")
    with pytest.raises(ConfigurationError, match="must end at /api/v1"):
        PactaClient(TOKEN)


async def test_the_user_agent_names_the_sdk_and_its_version() -> None:
    import importlib.metadata

    import pacta_async

    script = Script([httpx.Response(200, json=document())])
    async with make_client(script) as client:
        await client.documents.get(1)
    assert pacta_async.__version__ == importlib.metadata.version("pacta-async")
    assert script.requests[0].headers["user-agent"] == f"pacta-async/{pacta_async.__version__}"
