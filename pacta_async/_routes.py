"""Which requests count as sends: they take a token from the send limit too.

Pacta names two sends today; a new spec may bring another send-like endpoint, which
is paced right only once it is listed here (`PactaClient(send_routes=...)`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import httpx

from ._errors import ConfigurationError

__all__ = ["DEFAULT_SEND_ROUTES", "SendRoutes"]

DEFAULT_SEND_ROUTES: Final = (
    "POST /documents/{documentId}/send",
    "POST /templates/{templateId}/generate",
)
_ROUTE = re.compile(r"([A-Z]+) (/[^\s?#]*)")
_PARAMETER = re.compile(r"\{[^/{}]+\}")


class SendRoutes:
    """Matches a request against routes like ``"POST /documents/{documentId}/send"``.

    Paths are relative to the base URL, as in the spec; ``{name}`` matches one segment.
    """

    def __init__(self, routes: Iterable[str] = DEFAULT_SEND_ROUTES) -> None:
        if isinstance(routes, str):
            raise ConfigurationError("send_routes must be a list of routes, not one string")
        self.routes = tuple(routes)
        self._patterns: dict[str, list[re.Pattern[str]]] = {}
        for route in self.routes:
            match = _ROUTE.fullmatch(route) if isinstance(route, str) else None
            if match is None:
                raise ConfigurationError(
                    f"send route {route!r} must look like 'POST /documents/{{documentId}}/send'"
                )
            method, path = match.groups()
            pieces = _PARAMETER.split(path.rstrip("/"))
            pattern = "[^/]+".join(re.escape(piece) for piece in pieces)
            self._patterns.setdefault(method, []).append(re.compile(f"{pattern}/?$"))

    def __call__(self, request: httpx.Request) -> bool:
        path = request.url.path
        return any(p.search(path) for p in self._patterns.get(request.method, ()))

    def __repr__(self) -> str:
        return f"SendRoutes({list(self.routes)!r})"
