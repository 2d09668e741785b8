"""One token's rate limits shared by many processes, kept in Redis.

`TokenBucketLimiter` paces the tasks of one process; workers on several machines
using the same token need one shared view, or each would spend the whole limit.
Every decision is one Lua script run atomically inside Redis, timed by the Redis
server's clock (`TIME`), so workers with skewed clocks still agree.

Needs the ``redis`` extra (``pip install 'pacta-async[redis]'``) and Redis 5 or
later (scripts that read `TIME` and then write). redis-py's asyncio client only
runs on asyncio, so this limiter does too; `TokenBucketLimiter` also runs on trio.
"""

from __future__ import annotations

import hashlib
import logging
import random

import httpx

from .._clock import Clock, SystemClock
from .._errors import ConfigurationError, RateLimiterUnavailableError
from .._headers import parse_rate_limit_headers, parse_retry_after
from ._base import (
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_SENDS_PER_MINUTE,
    JITTER_ALLOWANCE,
    WaitLine,
    check_rate,
)
from ._local import TokenBucketLimiter

try:
    import redis.asyncio
    import redis.exceptions
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("RedisRateLimiter needs redis-py: pip install 'pacta-async[redis]'") from exc

__all__ = ["RedisRateLimiter"]

_log = logging.getLogger(__name__)

# The errors that mean "Redis cannot be reached", as opposed to a script or
# permission error, which is a bug or a misconfiguration and is raised as is.
_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# Workers told to wait for the same slot all ask again when it opens, and the first
# to reach Redis gets it. Without a random delay the winner is settled by which host
# or timer is systematically a hair faster, and one worker can starve another; with
# it each slot is a lottery. Being late costs no capacity (with a burst above 1):
# the token stays in the bucket until someone takes it.
_JITTER = 0.1  # of the wait

# While Redis is down, how long to use the fallback before trying Redis again: each
# try can cost the client's connect timeout and retries, paid by a waiting request.
_RECHECK_SECONDS = 5.0

# The same GCRA as `_local._Bucket` (JITTER_ALLOWANCE included), in microseconds of
# the Redis server's clock.
# KEYS[1] is a hash: `general` and `send` hold each bucket's theoretical arrival time
# (when it is full again), `general_limit` and `send_limit` the limits Pacta reported,
# which every worker then adopts while they are lower than its configured ones.
# ARGV: op ('acquire' | 'observe'), requests/min, burst, sends/min, send burst,
#   the jitter allowance in microseconds, then
#   acquire: '1' for a send, else '0'. Returns 0 when granted, else the microseconds
#            to wait before asking again; nothing is taken unless granted.
#   observe: buckets to pause ('' | 'general' | 'send' | 'both'), Retry-After in
#            microseconds ('' if absent), X-RateLimit-Remaining (''), reported general
#            limit (''), reported send limit (''). Returns 0.
# The key expires a minute after both buckets are full again: an absent key reads as
# full buckets, so only the reported limits are forgotten, after a quiet minute.
_SCRIPT = """
local key = KEYS[1]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('HMGET', key, 'general', 'send', 'general_limit', 'send_limit')
if ARGV[1] == 'observe' then
  if ARGV[10] ~= '' then redis.call('HSET', key, 'general_limit', ARGV[10]); state[3] = ARGV[10] end
  if ARGV[11] ~= '' then redis.call('HSET', key, 'send_limit', ARGV[11]); state[4] = ARGV[11] end
end

local function bucket(tat, per_minute, burst, reported)
  per_minute = tonumber(per_minute)
  burst = tonumber(burst)
  reported = tonumber(reported)
  if reported and reported < per_minute then
    per_minute = reported
    burst = math.min(burst, math.max(1, math.floor(reported)))
  end
  return {tat = tonumber(tat) or now, interval = 60000000 / per_minute, burst = burst}
end
local general = bucket(state[1], ARGV[2], ARGV[3], state[3])
local send = bucket(state[2], ARGV[4], ARGV[5], state[4])

local function allowed_at(b)
  return b.tat - math.max(0, (b.burst - 1) * b.interval - tonumber(ARGV[6]))
end
local function cap(b, at, tokens)
  b.tat = math.max(b.tat, at + (b.burst - tokens) * b.interval)
end

if ARGV[1] == 'acquire' then
  local sending = ARGV[7] == '1'
  local at = allowed_at(general)
  if sending then at = math.max(at, allowed_at(send)) end
  if at > now then return math.ceil(at - now) end
  general.tat = math.max(general.tat, now) + general.interval
  if sending then send.tat = math.max(send.tat, now) + send.interval end
else
  local retry_after = tonumber(ARGV[8])
  local function pause(b)
    if retry_after then cap(b, now + retry_after, 1) else cap(b, now, 0) end
  end
  if ARGV[7] == 'general' or ARGV[7] == 'both' then pause(general) end
  if ARGV[7] == 'send' or ARGV[7] == 'both' then pause(send) end
  if ARGV[9] ~= '' then cap(general, now, tonumber(ARGV[9])) end
end
redis.call('HSET', key, 'general', general.tat, 'send', send.tat)
redis.call('PEXPIRE', key, math.ceil((math.max(general.tat, send.tat) - now) / 1000) + 60000)
return 0
"""


class RedisRateLimiter:
    """A `RateLimiter` shared through Redis by every process that uses one token.

    Give every worker the same limits, `key_prefix` and token. The token itself is
    never stored: the key is named by a truncated SHA-256 of it. Each process keeps
    its own tasks in a first-in, first-out line whose front asks Redis; when the
    answer is "wait", it sleeps that long, plus a small random delay, and asks again,
    so every worker waiting for a slot has the same chance of it. A waiter takes nothing
    until granted, so cancelling one costs no capacity.

    A 429 observed by any worker pauses all of them until `Retry-After`, and a limit
    Pacta reports below the configured one is adopted by all of them.

    When Redis cannot be reached, `fallback_fraction` decides: None fails closed with
    `RateLimiterUnavailableError`; a fraction such as ``1 / number_of_workers`` paces
    this process locally at that share of the limits, trying Redis again every few
    seconds. Give the client short socket timeouts and few retries: until they run
    out, a request waits on the unreachable server.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        token: str,
        *,
        requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE,
        sends_per_minute: float = DEFAULT_SENDS_PER_MINUTE,
        burst: int | None = None,
        send_burst: int | None = None,
        key_prefix: str = "pacta:ratelimit:",
        fallback_fraction: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        general = check_rate(requests_per_minute, burst, "requests_per_minute")
        send = check_rate(sends_per_minute, send_burst, "sends_per_minute")
        self._clock: Clock = SystemClock() if clock is None else clock
        self._script = client.register_script(_SCRIPT)
        self._key = key_prefix + hashlib.sha256(token.encode()).hexdigest()[:32]
        self._limits = (general.per_minute, general.burst, send.per_minute, send.burst)
        self._line = WaitLine()
        self._random = random.Random()
        self._fallback: TokenBucketLimiter | None = None
        if fallback_fraction is not None:
            if not 0 < fallback_fraction <= 1:
                raise ConfigurationError(
                    f"fallback_fraction must be in (0, 1], got {fallback_fraction!r}"
                )
            self._fallback = TokenBucketLimiter(
                requests_per_minute=general.per_minute * fallback_fraction,
                sends_per_minute=send.per_minute * fallback_fraction,
                burst=max(1, int(general.burst * fallback_fraction)),
                send_burst=max(1, int(send.burst * fallback_fraction)),
                clock=self._clock,
            )
        # Until when (monotonic) requests go to the fallback without trying Redis.
        self._down_until: float | None = None

    async def acquire(self, *, send: bool) -> None:
        async with self._line.front():
            while True:
                if self._fallback is not None and self._redis_is_down():
                    await self._fallback.acquire(send=send)
                    return
                try:
                    wait = await self._run("acquire", "1" if send else "0")
                except _UNREACHABLE as exc:
                    self._unreachable(exc)
                    continue
                if wait == 0:
                    return
                jitter = 1 + _JITTER * self._random.random()
                await self._clock.sleep(wait / 1_000_000 * jitter)

    async def observe(
        self,
        status_code: int,
        headers: httpx.Headers,
        *,
        scope: str | None = None,
        limit: int | None = None,
    ) -> None:
        if self._fallback is not None:
            # Kept informed all along, so it starts from Pacta's view if Redis goes away.
            await self._fallback.observe(status_code, headers, scope=scope, limit=limit)
            if self._redis_is_down():
                return
        server = parse_rate_limit_headers(headers)
        if status_code != 429 and server is None:
            return
        pause = retry_after = general_limit = send_limit = ""
        if status_code == 429:
            pause = scope if scope in ("general", "send") else "both"
            seconds = parse_retry_after(headers, now=self._clock.wall())
            if seconds is not None:
                retry_after = str(round(seconds * 1_000_000))
            if limit is not None and limit >= 1:
                if scope == "general":
                    general_limit = str(limit)
                elif scope == "send":
                    send_limit = str(limit)
        remaining = ""
        if server is not None:
            remaining = str(max(0, server.remaining))
            if server.limit >= 1:
                general_limit = str(server.limit)
        try:
            await self._run("observe", pause, retry_after, remaining, general_limit, send_limit)
        except _UNREACHABLE as exc:
            # The response is already here and must not fail for this; the next
            # acquire reports the outage (or falls back).
            _log.warning("could not share a rate-limit observation through Redis: %s", exc)

    async def _run(self, op: str, *args: str) -> int:
        allowance = round(JITTER_ALLOWANCE * 1_000_000)
        result = await self._script(keys=[self._key], args=[op, *self._limits, allowance, *args])
        if self._down_until is not None:
            _log.info("Redis is reachable again; rate limits are shared again")
            self._down_until = None
        return int(result)

    def _redis_is_down(self) -> bool:
        return self._down_until is not None and self._clock.monotonic() < self._down_until

    def _unreachable(self, exc: Exception) -> None:
        """Fail closed, or switch to the fallback for a while."""
        if self._fallback is None:
            raise RateLimiterUnavailableError(
                f"the shared rate limiter's Redis is unreachable: {exc}"
            ) from exc
        if self._down_until is None:
            _log.warning(
                "Redis is unreachable (%s); pacing this process alone until it is back", exc
            )
        self._down_until = self._clock.monotonic() + _RECHECK_SECONDS
