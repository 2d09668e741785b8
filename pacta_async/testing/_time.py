"""Timestamps as Pacta writes them."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["timestamp"]


def timestamp(epoch: float) -> str:
    """RFC 3339 in UTC with milliseconds, as Pacta writes it: ``2026-05-12T09:30:00.000Z``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
