"""The `pacta_async` logger, switched on by `PACTA_LOG=debug|info|warning`."""

from __future__ import annotations

import logging
import os

__all__ = ["logger", "setup_logging"]

logger = logging.getLogger("pacta_async")


def setup_logging() -> None:
    """Attach a stderr handler when PACTA_LOG asks for one (once per process)."""
    level = os.environ.get("PACTA_LOG", "").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"} or logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
