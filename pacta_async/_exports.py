"""Public names that show their public home, as httpx's do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["show_as_public"]


def show_as_public(package: str, namespace: Mapping[str, object], names: Iterable[str]) -> None:
    """Give `package.X`, not the private module X is defined in, to tracebacks, reprs,
    docs and IDE hovers; the private layout can then change without anyone noticing."""
    for name in names:
        value = namespace.get(name)
        module = getattr(value, "__module__", "")
        if callable(value) and module.startswith(f"{package}._"):
            value.__module__ = package
