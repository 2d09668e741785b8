"""Enum arguments take values this version does not know: Pacta adds them over time."""

from __future__ import annotations

import httpx
import pytest

from pacta_async import InvalidInputError, UnknownValueWarning

from .support import Script, document, make_client

pytestmark = pytest.mark.anyio

LIST = httpx.Response(200, json={"documents": [document(status="ARCHIVED")], "totalPages": 1})


async def test_a_new_status_filter_is_sent_with_a_warning() -> None:
    script = Script([LIST])
    async with make_client(script) as client:
        with pytest.warns(UnknownValueWarning, match="'ARCHIVED' is not one of") as caught:
            listing = await client.documents.list(status="ARCHIVED")
    assert script.requests[0].url.params["status"] == "ARCHIVED"
    assert listing.documents[0].status == "ARCHIVED"
    assert caught[0].filename == __file__  # points at the caller's line
    assert "did you mean" not in str(caught[0].message)


async def test_a_typo_is_sent_too_but_the_warning_names_the_known_value() -> None:
    script = Script([LIST])
    async with make_client(script) as client:
        with pytest.warns(UnknownValueWarning, match="did you mean 'PENDING'"):
            await client.documents.list(status="PENDNG")
    assert script.requests[0].url.params["status"] == "PENDNG"


async def test_new_values_reach_request_bodies() -> None:
    created = httpx.Response(201, json=document(recipients=[]))
    script = Script([created])
    async with make_client(script) as client:
        with pytest.warns(UnknownValueWarning, match="recipients\\[0\\].role='WITNESS'"):
            await client.documents.create(
                b"%PDF-1.4\n%%EOF\n",
                title="t",
                recipients=[{"name": "A", "email": "a@b.co", "role": "WITNESS"}],
            )
    assert b"WITNESS" in script.bodies[0]


async def test_known_values_raise_no_warning(recwarn: pytest.WarningsRecorder) -> None:
    script = Script([LIST])
    async with make_client(script) as client:
        await client.documents.list(status="PENDING")
    assert not [w for w in recwarn if issubclass(w.category, UnknownValueWarning)]


async def test_a_value_that_is_no_string_is_still_refused_before_sending() -> None:
    script = Script([LIST])
    async with make_client(script) as client:
        with pytest.raises(InvalidInputError, match="status"):
            await client.documents.list(status=7)  # type: ignore[arg-type]
    assert not script.requests
