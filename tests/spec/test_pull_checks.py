"""What comes in: the pull validates the spec, parses strictly, and is bounded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.specupdate.support import (
    SNAPSHOT_BYTES,
    SpecServer,
    dangling_webhook_ref,
    duplicate_operation_id,
    mutated,
    spec_bytes,
)
from tools.specpull import SpecError, load_spec, pull_spec


@pytest.fixture(scope="module")
def server() -> Iterator[SpecServer]:
    spec_server = SpecServer()
    yield spec_server
    spec_server.stop()


def _url(base: str) -> str:
    return f"{base}/api/v1/openapi"


def test_a_nan_literal_is_not_json(server: SpecServer) -> None:
    body = SNAPSHOT_BYTES.replace(b'"minimum": 1,', b'"minimum": NaN,', 1)
    assert body != SNAPSHOT_BYTES
    with pytest.raises(SpecError, match="NaN is not JSON"):
        pull_spec(_url(server.serve("nan", body)))


def test_duplicate_keys_are_refused(server: SpecServer) -> None:
    body = SNAPSHOT_BYTES.replace(
        b'"openapi": "3.1.0",', b'"openapi": "3.1.0", "openapi": "3.0.0",'
    )
    with pytest.raises(SpecError, match="duplicate key 'openapi'"):
        pull_spec(_url(server.serve("dupkey", body)))


def test_duplicate_operation_ids_are_refused(server: SpecServer) -> None:
    url = _url(server.serve("dupid", spec_bytes(mutated(duplicate_operation_id))))
    with pytest.raises(SpecError, match="duplicate operationId 'get_document'"):
        pull_spec(url)


def test_a_dangling_ref_under_webhooks_is_refused(server: SpecServer) -> None:
    url = _url(server.serve("webhookref", spec_bytes(mutated(dangling_webhook_ref))))
    with pytest.raises(SpecError, match=r"/webhooks/.*leads nowhere"):
        pull_spec(url)


def test_an_invalid_document_is_refused_by_the_validator(tmp_path: Path) -> None:
    spec = mutated()
    spec["paths"]["/documents"]["get"]["responses"] = "nope"
    path = tmp_path / "bad.json"
    path.write_bytes(spec_bytes(spec))
    with pytest.raises(SpecError, match="invalid OpenAPI document"):
        load_spec(path)


def test_a_trickling_server_hits_the_overall_deadline(server: SpecServer) -> None:
    url = server.serve("trickle", SNAPSHOT_BYTES)
    server.trickle.add("/trickle/api/v1/openapi")
    server.trickle_delay = 0.2  # each read comes well inside the read timeout
    started = time.monotonic()
    with pytest.raises(SpecError, match="took over 1 s"):
        pull_spec(_url(url), timeout=5, deadline=1)
    assert time.monotonic() - started < 3


def test_an_oversized_body_is_refused(server: SpecServer) -> None:
    url = _url(server.serve("big", SNAPSHOT_BYTES))
    with pytest.raises(SpecError, match=rf"{len(SNAPSHOT_BYTES)} bytes, over 1000 bytes"):
        pull_spec(url, max_bytes=1000)


def test_one_transient_5xx_is_retried_once(server: SpecServer) -> None:
    sleeps: list[float] = []
    html = (503, "text/html", b"<html>busy</html>")
    url = server.serve_in_turn("flaky", [html, (200, "application/json", SNAPSHOT_BYTES)])
    assert pull_spec(_url(url), sleep=sleeps.append)["openapi"].startswith("3.")
    assert sleeps == [2.0]

    down = server.serve_in_turn("down", [html, html, (200, "application/json", SNAPSHOT_BYTES)])
    with pytest.raises(SpecError, match="tried twice"):
        pull_spec(_url(down), sleep=sleeps.append)


def test_a_404_is_not_retried(server: SpecServer) -> None:
    sleeps: list[float] = []
    url = server.serve_in_turn(
        "gone", [(404, "text/plain", b"no"), (200, "application/json", SNAPSHOT_BYTES)]
    )
    with pytest.raises(SpecError, match="HTTP 404"):
        pull_spec(_url(url), sleep=sleeps.append)
    assert sleeps == []
