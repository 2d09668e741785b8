"""Keeping the token out of what errors carry: messages, requests and responses.

An error keeps the request and the response for debugging, and users log, pickle and
print them. The copies attached to errors have the `Authorization` header replaced, and
every piece of the token that a proxy's error page echoes back is cut out of the body
and the headers, whole or in part: a page showing "Authorization: api_abc..." truncated
by the proxy, or by a snippet's length limit, must not give away the first half.
"""

from __future__ import annotations

import re

import httpx

__all__ = ["REDACTED", "redact_text", "redacted_headers", "redacted_request", "redacted_response"]

REDACTED = "[redacted]"
# Any run of this many characters of the token counts as a leak; shorter runs are too
# common to tell apart from ordinary text ("api_" itself) and give away little.
_PIECE = 8
_AUTHORIZATION = "authorization"


def _pieces(secret: str) -> re.Pattern[str] | None:
    """Matches, at every position, any piece of `secret` of `_PIECE` characters."""
    if len(secret) < _PIECE:
        return re.compile(re.escape(secret)) if secret else None
    pieces = {secret[i : i + _PIECE] for i in range(len(secret) - _PIECE + 1)}
    alternatives = "|".join(sorted(map(re.escape, pieces)))
    # A lookahead finds overlapping matches, so a long piece is covered whole.
    return re.compile(f"(?=({alternatives}))")


def redact_text(text: str, secret: str | None) -> str:
    """`text` with every run of the secret's characters (at least 8 long) replaced."""
    pattern = _pieces(secret) if secret else None
    if pattern is None:
        return text
    spans: list[list[int]] = []
    for match in pattern.finditer(text):
        start, end = match.start(1), match.end(1)
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    if not spans:
        return text
    parts: list[str] = []
    cursor = 0
    for start, end in spans:
        parts += [text[cursor:start], REDACTED]
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


def _secret_of(request: httpx.Request) -> str | None:
    secret: str | None = request.headers.get(_AUTHORIZATION)
    return secret


def redacted_request(request: httpx.Request) -> httpx.Request:
    """A copy of `request` to keep in an error: no token, the body only if it was in memory."""
    secret = _secret_of(request)
    headers = [
        (name, REDACTED if name.lower() == _AUTHORIZATION else redact_text(value, secret))
        for name, value in request.headers.multi_items()
    ]
    try:
        content: bytes | None = request.content
    except httpx.RequestNotRead:  # a streamed upload: the PDF is not worth keeping
        content = None
    return httpx.Request(request.method, request.url, headers=headers, content=content)


def redacted_headers(headers: httpx.Headers, request: httpx.Request) -> httpx.Headers:
    """`headers` of an answer to `request`, with any piece of its token cut out."""
    secret = _secret_of(request)
    return httpx.Headers(
        [(name, redact_text(value, secret)) for name, value in headers.multi_items()]
    )


def redacted_response(response: httpx.Response, request: httpx.Request) -> httpx.Response:
    """A read copy of `response`, attached to a redacted copy of `request`, without the token.

    The body is kept decoded, so the copy drops the encoding and length headers that
    described the bytes on the wire.
    """
    secret = _secret_of(request)
    text = response.content.decode("utf-8", errors="replace")
    redacted = redact_text(text, secret)
    content = response.content if redacted == text else redacted.encode()
    headers = [
        (name, redact_text(value, secret))
        for name, value in response.headers.multi_items()
        if name.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
    ]
    copy = httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=redacted_request(request),
        extensions={
            key: value
            for key, value in response.extensions.items()
            if key in {"http_version", "reason_phrase"}
        },
    )
    return copy
