"""Pacing requests under a token's rate limits: in one process, or shared through Redis."""

from ._base import (
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_SENDS_PER_MINUTE,
    PacingTimeout,
    RateLimiter,
)
from ._local import TokenBucketLimiter

__all__ = [
    "DEFAULT_REQUESTS_PER_MINUTE",
    "DEFAULT_SENDS_PER_MINUTE",
    "PacingTimeout",
    "RateLimiter",
    "TokenBucketLimiter",
]
