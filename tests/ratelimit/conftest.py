"""Fixtures for the rate-limiter tests: a real, throwaway redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import free_port, running_redis


@pytest.fixture
def closed_port() -> int:
    """Where an unreachable Redis would be: connections are refused at once."""
    return free_port()


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A private redis-server for the whole session (see tests/redis_server.py)."""
    with running_redis(tmp_path_factory.mktemp("redis")) as port:
        yield port
