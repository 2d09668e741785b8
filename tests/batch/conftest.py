"""Fixtures for the batch tests: an in-process reference server with raised limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pacta_async import PactaClient
from pacta_async.testing import ReferenceServer

from .support import client_for, fast_server


@pytest.fixture
def server() -> ReferenceServer:
    return fast_server()


@pytest.fixture
def token(server: ReferenceServer) -> str:
    return server.create_token(server.create_team("Acme"))


@pytest.fixture
async def client(server: ReferenceServer, token: str) -> AsyncIterator[PactaClient]:
    async with client_for(server, token) as client:
        yield client
