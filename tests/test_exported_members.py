"""The public namespaces hold exactly the public API, each name showing its public home."""

from __future__ import annotations

import inspect
import types

import pytest

import pacta_async
import pacta_async.testing
import pacta_async.types

PACKAGES = [pacta_async, pacta_async.testing]


def ruff_order(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps `__all__` in: CONSTANTS, then Classes, then the rest."""
    if len(name) > 1 and name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


def public_names(package: types.ModuleType) -> set[str]:
    """Every public name the package's namespace holds, but its submodules."""
    return {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def exported(package: types.ModuleType) -> list[tuple[str, object]]:
    return [(name, getattr(package, name)) for name in package.__all__]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_all_is_sorted_without_repeats(package: types.ModuleType) -> None:
    assert package.__all__ == sorted(set(package.__all__), key=ruff_order)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_public_name_is_exported(package: types.ModuleType) -> None:
    assert public_names(package) - set(package.__all__) == set()


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_export_exists(package: types.ModuleType) -> None:
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert missing == []


def test_names_loaded_on_first_use_are_exported_too() -> None:
    """The Redis classes and `AioHttpTransport` need the `redis` and `aiohttp` extras: not
    in the namespace until asked for."""
    lazy = set(pacta_async.__all__) - public_names(pacta_async)
    assert lazy == {"AioHttpTransport", "RedisDedupStore", "RedisRateLimiter"}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_classes_and_functions_show_their_public_home(package: types.ModuleType) -> None:
    """Tracebacks and reprs say `pacta_async.PactaClient`, not the private module.

    The API's object types are the generated client's classes (`pacta_api.models`),
    re-exported by `pacta_async.types`: their module is the generator's business, and the
    generated-surface test tells them apart by it.
    """
    wrong = {}
    for name, value in exported(package):
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        if value.__module__.startswith("pacta_api.models."):
            assert getattr(pacta_async.types, name) is value
            continue
        if value.__module__ != package.__name__:
            wrong[name] = value.__module__
    assert wrong == {}


def test_every_exported_class_and_function_is_checked() -> None:
    """The test above cannot pass by skipping: it sees the client, errors and testing aids."""
    checked = {
        name
        for package in PACKAGES
        for name, value in exported(package)
        if inspect.isclass(value) or inspect.isfunction(value)
    }
    assert {"PactaClient", "PactaError", "parse_webhook", "ReferenceServer", "make_pdf"} <= checked
