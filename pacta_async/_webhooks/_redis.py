"""Webhook event states shared by every receiver process, kept in Redis.

Several receivers behind one URL (or several subscriptions pointing at different
receivers) each get deliveries of the same event; with one Redis they agree on
who handles it. Each operation is one Lua script, so it is atomic in Redis, and
every mark carries its own expiry (`PX`): an in-progress mark left by a crashed
receiver vanishes after its lease, a done mark after the ttl.

Needs the ``redis`` extra (``pip install 'pacta-async[redis]'``). redis-py's asyncio
client only runs on asyncio, so this store does too.
"""

from __future__ import annotations

from typing import Final

from .._errors import ConfigurationError, DedupStoreUnavailableError
from ._dedup import HandlingState

try:
    import redis.asyncio
    import redis.exceptions
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("RedisDedupStore needs redis-py: pip install 'pacta-async[redis]'") from exc

__all__ = ["RedisDedupStore"]

_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# A key holds "done", or "p:<owner>" while a run holds it. ARGV[1] owner, ARGV[2] ms.
_CLAIM: Final = """
local value = redis.call('GET', KEYS[1])
if not value then
  redis.call('SET', KEYS[1], 'p:' .. ARGV[1], 'PX', ARGV[2])
  return 'new'
end
if value == 'done' then return 'done' end
return 'in_progress'
"""
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == 'p:' .. ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_COMPLETE: Final = """
redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
return 1
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == 'p:' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisDedupStore:
    """A `DedupStore` in Redis, for `WebhookDeduplicator(RedisDedupStore(redis.asyncio.Redis()))`.

    Keys are `key_prefix` + the event's `dedup_key`. An unreachable Redis raises
    `DedupStoreUnavailableError` (answer the delivery non-2xx: Pacta retries).
    """

    def __init__(self, client: redis.asyncio.Redis, *, key_prefix: str = "pacta:webhook:") -> None:
        if not key_prefix:
            raise ConfigurationError("key_prefix must not be empty")
        self._prefix = key_prefix
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)

    async def claim(self, key: str, owner: str, lease: float) -> HandlingState:
        answer = await self._run(self._claim, key, owner, lease)
        return HandlingState(answer.decode() if isinstance(answer, bytes) else answer)

    async def renew(self, key: str, owner: str, lease: float) -> bool:
        return bool(await self._run(self._renew, key, owner, lease))

    async def complete(self, key: str, owner: str, ttl: float) -> None:
        await self._run(self._complete, key, owner, ttl)

    async def release(self, key: str, owner: str) -> None:
        await self._run(self._release, key, owner, 0)

    async def _run(
        self, script: redis.commands.core.AsyncScript, key: str, owner: str, seconds: float
    ) -> object:
        try:
            return await script(keys=[self._prefix + key], args=[owner, _ms(seconds)])
        except _UNREACHABLE as exc:
            message = f"the dedup store's Redis is unreachable: {exc}"
            raise DedupStoreUnavailableError(message) from exc


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
