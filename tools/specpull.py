"""Pull an OpenAPI document over HTTP and refuse anything that is not one.

`make generate` uses this so that a failed pull, an error page or a truncated body
never replaces the committed snapshot.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

__all__ = ["SpecError", "load_spec", "main", "pull_spec", "validate_spec"]


class SpecError(Exception):
    """A spec that cannot be used: unreadable, not JSON, or not an OpenAPI 3.x document.

    `field` names the part at fault, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def validate_spec(document: object, *, source: str) -> dict[str, Any]:
    """Return `document` if it looks like an OpenAPI 3.x document, else raise SpecError."""
    if not isinstance(document, dict):
        raise SpecError(f"{source}: not an OpenAPI document (expected a JSON object)")
    version = document.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        raise SpecError(f"{source}: not an OpenAPI 3.x document (openapi={version!r})")
    if not isinstance(document.get("paths"), dict) or not document["paths"]:
        raise SpecError(f"{source}: the OpenAPI document has no paths")
    return document


def load_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate an OpenAPI document from a JSON file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SpecError(f"{path}: not JSON: {exc}") from exc
    return validate_spec(document, source=str(path))


def pull_spec(url: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """Download and validate the OpenAPI document at `url`."""
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise SpecError(f"{url}: request failed: {exc}") from exc
    if not response.is_success:
        raise SpecError(f"{url}: HTTP {response.status_code}, expected 2xx")
    try:
        document = response.json()
    except ValueError as exc:
        raise SpecError(f"{url}: the body is not JSON") from exc
    return validate_spec(document, source=url)


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
