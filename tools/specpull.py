"""Pull an OpenAPI document over HTTP and refuse anything that is not one.

`make generate` uses this so that a failed pull, an error page or a truncated body
never replaces the committed snapshot.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from jsonschema_path import SchemaPath
from openapi_spec_validator.shortcuts import get_validator_cls

__all__ = [
    "MAX_SPEC_BYTES",
    "SpecError",
    "load_spec",
    "main",
    "parse_json",
    "pull_spec",
    "validate_spec",
]

# Pacta's spec is about 100 kB; anything near this is not a spec.
MAX_SPEC_BYTES = 20 * 1024 * 1024


class SpecError(Exception):
    """A spec that cannot be used: unreadable, not JSON, or not an OpenAPI 3.x document.

    `field` names the part at fault, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def validate_spec(document: object, *, source: str) -> dict[str, Any]:
    """Return `document` if it is a valid OpenAPI 3.x document, else raise SpecError.

    openapi-spec-validator checks the whole document: duplicate operationIds (the
    generator would silently write one module over the other) and `$ref`s that lead
    nowhere, under `webhooks` too.
    """
    if not isinstance(document, dict):
        raise SpecError(f"{source}: not an OpenAPI document (expected a JSON object)")
    version = document.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        raise SpecError(f"{source}: not an OpenAPI 3.x document (openapi={version!r})")
    if not isinstance(document.get("paths"), dict) or not document["paths"]:
        raise SpecError(f"{source}: the OpenAPI document has no paths")
    _check_operation_ids(document, source)
    _check_refs(document, document, "", source)
    try:
        validator = get_validator_cls(document)(SchemaPath.from_dict(document))
        errors = sorted({_describe(error) for error in validator.iter_errors()})
    except Exception as exc:  # the validator raises its own errors for refs it cannot follow
        raise SpecError(f"{source}: invalid OpenAPI document: {str(exc)[:300]}") from exc
    if errors:
        shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
        raise SpecError(f"{source}: invalid OpenAPI document: {shown}")
    return document


def _check_operation_ids(document: dict[str, Any], source: str) -> None:
    """Named before the validator runs: its message for this case is hard to read."""
    seen: dict[str, str] = {}
    for section in ("paths", "webhooks"):
        items = document.get(section)
        for path, item in (items if isinstance(items, dict) else {}).items():
            for method, operation in (item if isinstance(item, dict) else {}).items():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                where = f"{method.upper()} {path}"
                operation_id = str(operation["operationId"])
                if operation_id in seen:
                    raise SpecError(
                        f"{source}: duplicate operationId {operation_id!r} "
                        f"({seen[operation_id]} and {where})",
                        field=operation_id,
                    )
                seen[operation_id] = where


def _check_refs(root: dict[str, Any], node: object, where: str, source: str) -> None:
    """Every local `$ref` must lead somewhere; the validator does not look under
    `webhooks`, and the generator then fails after the pull was accepted."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            _check_refs(root, item, f"{where}/{index}", source)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        target: object = root
        for part in ref[1:].lstrip("/").split("/") if ref != "#" else ():
            key = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and key in target:
                target = target[key]
            elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                target = target[int(key)]
            else:
                raise SpecError(f"{source}: {where or '/'}: $ref {ref!r} leads nowhere", field=ref)
    for key, value in node.items():
        _check_refs(root, value, f"{where}/{key}", source)


def _describe(error: Any) -> str:
    where = "/".join(str(part) for part in getattr(error, "absolute_path", ()))
    message = str(getattr(error, "message", error)).splitlines()[0][:300]
    return f"{where or '(root)'}: {message}"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json(text: str | bytes) -> Any:
    """Strict JSON: no NaN/Infinity literals, no duplicate keys (either would be
    written to the snapshot, or silently lose one of the two values)."""
    return json.loads(
        text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicate_keys
    )


def load_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate an OpenAPI document from a JSON file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text") from exc
    try:
        document = parse_json(text)
    except ValueError as exc:
        raise SpecError(f"{path}: not JSON: {exc}") from exc
    return validate_spec(document, source=str(path))


# A transient answer worth one more try; anything else is the server's real answer.
_TRANSIENT = frozenset({502, 503, 504})


def pull_spec(
    url: str,
    *,
    timeout: float = 30.0,
    deadline: float = 120.0,
    max_bytes: int = MAX_SPEC_BYTES,
    retry_delay: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Download and validate the OpenAPI document at `url`.

    `timeout` bounds each read; `deadline` the whole pull (a server trickling a few
    bytes at a time never trips a read timeout); `max_bytes` the body. A 502/503/504
    or a failed connection is tried once more after `retry_delay` seconds.
    """
    try:
        body = _download(url, timeout=timeout, deadline=deadline, max_bytes=max_bytes)
    except _Transient as exc:
        sleep(retry_delay)
        try:
            body = _download(url, timeout=timeout, deadline=deadline, max_bytes=max_bytes)
        except _Transient as again:
            raise SpecError(f"{again} (tried twice, {exc.reason} the first time)") from again
    try:
        document = parse_json(body)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and the strict checks
        raise SpecError(f"{url}: the body is not JSON: {exc}") from exc
    return validate_spec(document, source=url)


class _Transient(SpecError):
    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _download(url: str, *, timeout: float, deadline: float, max_bytes: int) -> bytes:
    started = time.monotonic()
    chunks: list[bytes] = []
    size = 0
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code in _TRANSIENT:
                reason = f"HTTP {response.status_code}"
                raise _Transient(f"{url}: {reason}, expected 2xx", reason)
            if not response.is_success:
                raise SpecError(f"{url}: HTTP {response.status_code}, expected 2xx")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SpecError(f"{url}: the body is {declared} bytes, over {max_bytes} bytes")
            for chunk in response.iter_raw():
                size += len(chunk)
                if size > max_bytes:
                    raise SpecError(f"{url}: the body is over {max_bytes} bytes")
                if time.monotonic() - started > deadline:
                    raise SpecError(f"{url}: the pull took over {deadline:g} s; gave up")
                chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise SpecError(f"{url}: request failed: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        reason = type(exc).__name__
        raise _Transient(f"{url}: request failed: {exc or reason}", reason) from exc
    except httpx.HTTPError as exc:
        raise SpecError(f"{url}: request failed: {exc}") from exc
    # iter_raw yields the bytes as sent: decode what the server compressed.
    return _decoded(b"".join(chunks), response.headers.get("content-encoding", ""), url)


def _decoded(body: bytes, encoding: str, url: str) -> bytes:
    if not encoding or encoding == "identity":
        return body
    decoder = httpx.Response(200, headers={"content-encoding": encoding}, content=body)
    try:
        return decoder.read()
    except httpx.DecodingError as exc:
        raise SpecError(f"{url}: cannot decode the {encoding} body") from exc


def write_spec(document: dict[str, Any], path: Path) -> None:
    """Write atomically, so an interrupted write never leaves half a snapshot."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m tools.specpull URL OUTPUT.json", file=sys.stderr)
        return 2
    url, output = args
    try:
        document = pull_spec(url)
    except SpecError as exc:
        print(f"spec pull failed: {exc}", file=sys.stderr)
        return 1
    write_spec(document, Path(output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
