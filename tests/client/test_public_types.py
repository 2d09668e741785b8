"""Types a user sees: public names for everything in a public signature, typed lazy
imports, docstrings on the models users handle most."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

import pacta_async
from pacta_async import types

MODELS = [types.Document, types.Recipient, types.Field, types.Template, types.Webhook]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_models_users_handle_most_have_docstrings(model: type) -> None:
    assert model.__doc__ is not None
    assert len(model.__doc__.split()) >= 5


def _types_in(hint: object) -> Iterator[type]:
    if typing.get_origin(hint) is not None:
        yield from (t for arg in typing.get_args(hint) for t in _types_in(arg))
    elif isinstance(hint, type):
        yield hint


def _public_callables() -> Iterator[tuple[str, object]]:
    client = pacta_async.PactaClient("api_test_0123456789abcdef")
    roots: list[object] = [getattr(pacta_async, name) for name in pacta_async.__all__]
    roots += [client.documents, client.documents.recipients, client.documents.fields]
    roots += [client.templates, client.webhooks, client.batch]
    for root in roots:
        cls = root if inspect.isclass(root) else type(root) if not callable(root) else None
        if cls is None:
            yield getattr(root, "__qualname__", repr(root)), root
            continue
        for name, member in vars(cls).items():
            if callable(member) and (not name.startswith("_") or name == "__init__"):
                yield f"{cls.__qualname__}.{name}", member


def test_every_type_in_a_public_signature_has_a_public_name() -> None:
    public = {id(getattr(pacta_async, name)) for name in pacta_async.__all__}
    public |= {id(getattr(types, name)) for name in types.__all__}
    private = set()
    for where, function in _public_callables():
        try:
            hints = typing.get_type_hints(function)
        except (NameError, TypeError):  # a signature naming an optional extra's types
            continue
        for argument, hint in hints.items():
            for t in _types_in(hint):
                if t.__module__.startswith(("pacta_async", "pacta_api")) and id(t) not in public:
                    private.add(f"{where}({argument}): {t.__module__}.{t.__qualname__}")
    assert sorted(private) == []


def test_the_version_is_public() -> None:
    assert pacta_async.__version__.count(".") >= 2


def test_the_lazy_redis_limiter_is_typed_for_type_checkers(tmp_path: Path) -> None:
    mypy = pytest.importorskip("mypy.api")
    user = tmp_path / "user.py"
    user.write_text(
        "from pacta_async import NOT_GIVEN, PactaClient, RedisRateLimiter\n"
        "def make(limiter: RedisRateLimiter) -> PactaClient:\n"
        "    return PactaClient(rate_limiter=limiter)\n"
        "PactaClient(rate_limiter=NOT_GIVEN)\n"
        "reveal_type(RedisRateLimiter)\n"
    )
    out, _, status = mypy.run(["--strict", "--no-error-summary", str(user)])
    assert status == 0, out
    assert "def (client: redis.asyncio.client.Redis" in out
