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

import asyncio
import hashlib
import logging
import random

from .._clock import Clock
from .._errors import ConfigurationError, RateLimitError, RateLimiterUnavailableError
from .._retry import DEFAULT_MAX_RETRY_AFTER
from ._base import (
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_SENDS_PER_MINUTE,
    ArrivalSpread,
    LimiterBase,
    Observation,
    PacingTimeout,
    check_rate,
    refusal_error,
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

# How long the key remembers the largest arrival allowance a worker measured: far
# longer than a request can be on its way, so the slowest worker's requests are
# covered while they are, and short enough to follow a network that gets faster.
_ALLOWANCE_MEMORY = 10.0

# The same GCRA as `_local._Bucket` (its arrival allowance and hold included), in
# microseconds of the Redis server's clock.
# KEYS[1] is a hash: `general` and `send` hold each bucket's theoretical arrival time
# (when it is full again); `rpm`, `burst`, `spm` and `send_burst` the key's limits,
# written by the first worker and lowered by any worker configured lower, so that all
# workers meter the one shared state with the same arithmetic; `general_limit` and
# `send_limit` the limits Pacta reported, which every worker then adopts while they
# are lower; `general_refused` and `send_refused` until when a 429 whose Retry-After
# was too long to wait out refuses that limit; `allowance` the largest arrival
# allowance any worker measured in the last `_ALLOWANCE_MEMORY` seconds (a request of
# the slowest worker may still be on its way when another worker's leaves), and
# `allowance_at` when it was written; `general_held` and `send_held` the longest round
# trip any worker measured since that bucket was last full, which the bucket's
# allowance never drops below (see `_local._Bucket.held`): the server's bucket may run
# that far behind the shared one for all workers, however long ago it was measured.
# ARGV: op ('acquire' | 'observe'), requests/min, burst, sends/min, send burst,
#   this worker's arrival allowance in microseconds, its longest recent round trip in
#   microseconds, then
#   acquire: '1' for a send, else '0'.
#   observe: buckets to pause ('' | 'general' | 'send' | 'both'), Retry-After in
#            microseconds ('' if absent), X-RateLimit-Remaining (''), reported general
#            limit (''), reported send limit (''), the longest pause in microseconds.
# Returns {verdict, microseconds, rpm, burst, spm, send_burst}, the limits as the key
# holds them: verdict 'go' (granted), 'wait' (ask again after that long; nothing was
# taken), 'general' or 'send' (that limit is refused for that long), 'ok' (observed).
# The key expires a minute after both buckets are full again and every refusal is
# over: an absent key reads as full buckets, so the limits are forgotten after a
# quiet minute (and the next worker to come sets them).
_SCRIPT = """
local key = KEYS[1]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('HMGET', key, 'general', 'send', 'general_limit', 'send_limit',
  'rpm', 'burst', 'spm', 'send_burst', 'general_refused', 'send_refused', 'allowance',
  'allowance_at', 'general_held', 'send_held')
local allowance = tonumber(ARGV[6])
local shared_allowance = tonumber(state[11])
if shared_allowance and shared_allowance > allowance
    and now - tonumber(state[12]) < ALLOWANCE_MEMORY then
  allowance = shared_allowance
else
  redis.call('HSET', key, 'allowance', allowance, 'allowance_at', now)
end
local config = {}
for i, name in ipairs({'rpm', 'burst', 'spm', 'send_burst'}) do
  local mine = tonumber(ARGV[i + 1])
  local shared = tonumber(state[i + 4])
  if not shared or mine < shared then shared = mine end
  config[i] = shared
end
redis.call('HSET', key, 'rpm', config[1], 'burst', config[2], 'spm', config[3],
  'send_burst', config[4])
if ARGV[1] == 'observe' then
  if ARGV[11] ~= '' then redis.call('HSET', key, 'general_limit', ARGV[11]); state[3] = ARGV[11] end
  if ARGV[12] ~= '' then redis.call('HSET', key, 'send_limit', ARGV[12]); state[4] = ARGV[12] end
end

local function bucket(tat, per_minute, burst, reported, held)
  reported = tonumber(reported)
  if reported and reported < per_minute then
    per_minute = reported
    burst = math.min(burst, math.max(1, math.floor(reported)))
  end
  return {tat = tonumber(tat) or now, interval = 60000000 / per_minute, burst = burst,
    held = tonumber(held) or 0}
end
local general = bucket(state[1], config[1], config[2], state[3], state[13])
local send = bucket(state[2], config[3], config[4], state[4], state[14])
local refused = {general = tonumber(state[9]) or 0, send = tonumber(state[10]) or 0}

local function allowed_at(b)
  return b.tat - math.max(0, (b.burst - 1) * b.interval - math.max(allowance, b.held))
end
local function take(b)
  if b.tat <= now then b.held = 0 end  -- full: the server's starts again from this request
  b.held = math.max(b.held, tonumber(ARGV[7]))
  b.tat = math.max(b.tat, now) + b.interval
end
local function cap(b, at, tokens)
  b.tat = math.max(b.tat, at + (b.burst - tokens) * b.interval)
end
local function answer(verdict, micros)
  return {verdict, tostring(math.max(0, math.ceil(micros))), tostring(config[1]),
    tostring(config[2]), tostring(config[3]), tostring(config[4])}
end

local verdict, micros = 'ok', 0
if ARGV[1] == 'acquire' then
  local sending = ARGV[8] == '1'
  if refused.general > now then return answer('general', refused.general - now) end
  if sending and refused.send > now then return answer('send', refused.send - now) end
  local at = allowed_at(general)
  if sending then at = math.max(at, allowed_at(send)) end
  if at > now then return answer('wait', at - now) end
  take(general)
  if sending then take(send) end
  verdict = 'go'
else
  local retry_after = tonumber(ARGV[9])
  local longest = tonumber(ARGV[13])
  local function pause(b, name)
    if not retry_after then cap(b, now, 0)
    elseif retry_after > longest then
      refused[name] = math.max(refused[name], now + retry_after)
      redis.call('HSET', key, name .. '_refused', refused[name])
    else cap(b, now + retry_after, 1) end
  end
  if ARGV[8] == 'general' or ARGV[8] == 'both' then pause(general, 'general') end
  if ARGV[8] == 'send' or ARGV[8] == 'both' then pause(send, 'send') end
  if ARGV[10] ~= '' then cap(general, now, tonumber(ARGV[10])) end
end
redis.call('HSET', key, 'general', general.tat, 'send', send.tat, 'general_held', general.held,
  'send_held', send.held)
local until_quiet = math.max(general.tat, send.tat, refused.general, refused.send) - now
redis.call('PEXPIRE', key, math.ceil(until_quiet / 1000) + 60000)
return answer(verdict, micros)
""".replace("ALLOWANCE_MEMORY", str(round(_ALLOWANCE_MEMORY * 1_000_000)))


class RedisRateLimiter(LimiterBase):
    """A `RateLimiter` shared through Redis by every process that uses one token.

    Give every worker the same `key_prefix` and token. The token itself is never
    stored: the key is named by a truncated SHA-256 of it. Each process keeps its own
    tasks in a first-in, first-out line per limit whose front asks Redis; when the
    answer is "wait", it sleeps that long, plus a small random delay, and asks again,
    so every worker waiting for a slot has the same chance of it. A waiter takes nothing
    until granted, so cancelling one costs no capacity.

    The limits belong to the key, not to a worker: the first worker writes its limits
    next to the shared state and every worker meters with the key's limits. A worker
    configured lower lowers them for all (never above what any worker was told); a
    worker configured otherwise logs a warning and uses the key's, so it cannot take
    more than its share. The limits are forgotten when the key expires, a quiet minute
    after the buckets are full again.

    A 429 observed by any worker pauses all of them until `Retry-After` (or for one
    interval of the limit the 429 reports, as in-process; one longer than `max_pause`
    refuses that limit with `RateLimitError` instead, for all of them), and a limit
    Pacta reports below the configured one is adopted by all. The burst is trimmed by
    the largest arrival allowance any worker measured lately (`ArrivalSpread`, plus
    its own round trip to Redis, which comes between the grant and the request), and
    never by less than the longest round trip any worker measured since the shared
    bucket was last full: that far behind the shared bucket the server's may run.

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
        max_pause: float = DEFAULT_MAX_RETRY_AFTER,
        clock: Clock | None = None,
    ) -> None:
        general = check_rate(requests_per_minute, burst, "requests_per_minute")
        send = check_rate(sends_per_minute, send_burst, "sends_per_minute")
        super().__init__(clock=clock, max_pause=max_pause)
        self._script = client.register_script(_SCRIPT)
        self._key = key_prefix + hashlib.sha256(token.encode()).hexdigest()[:32]
        self._limits = (general.per_minute, general.burst, send.per_minute, send.burst)
        # A grant leaves Redis before the request leaves here: the way back can be as
        # long as a call to Redis takes, so that adds to the allowance.
        self._redis_spread = ArrivalSpread(0.0)
        self._random = random.Random()
        # The key's limits when they last differed from ours (warned about once each).
        self._warned: tuple[float, ...] | None = None
        # The 429 that refused a limit here, to raise while Redis says it still does.
        self._refusals: dict[str, RateLimitError] = {}
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
                max_pause=max_pause,
                clock=self._clock,
            )
        # Until when (monotonic) requests go to the fallback without trying Redis.
        self._down_until: float | None = None

    async def acquire(
        self, *, send: bool, place: int | None = None, timeout: float | None = None
    ) -> int:
        _require_asyncio()
        if place is None:
            place = next(self._places)
        deadline = None if timeout is None else self._clock.monotonic() + timeout
        line = self._send_line if send else self._general_line
        async with line.front(place, deadline):
            while True:
                if self._fallback is not None and self._redis_is_down():
                    left = None if deadline is None else deadline - self._clock.monotonic()
                    await self._fallback.acquire(send=send, timeout=left)
                    return place
                try:
                    verdict, micros = await self._run("acquire", "1" if send else "0")
                except _UNREACHABLE as exc:
                    self._unreachable(exc)
                    continue
                if verdict == "go":
                    return place
                seconds = micros / 1_000_000
                if verdict != "wait":
                    raise self._refusal(verdict, seconds)
                wait = seconds * (1 + _JITTER * self._random.random())
                if deadline is not None and self._clock.monotonic() + wait > deadline:
                    raise PacingTimeout(f"the shared limiter's next slot was {seconds:.2f} s away")
                await line.sleep(wait, deadline)

    async def _apply(self, seen: Observation) -> None:
        if self._fallback is not None:
            # Kept informed all along, so it starts from Pacta's view if Redis goes away.
            await self._fallback.learn(seen)
            if self._redis_is_down():
                return
        if not seen.paused and seen.remaining is None:
            return
        pause = retry_after = ""
        if seen.paused:
            pause = seen.paused[0] if len(seen.paused) == 1 else "both"
            if seen.pause is not None:
                if seen.refusal is not None:
                    for name in seen.paused:
                        self._refusals[name] = seen.refusal
                retry_after = str(round(min(seen.pause, _LONGEST) * 1_000_000))
        args = (
            pause,
            retry_after,
            _optional(seen.remaining),
            _optional(seen.general_limit),
            _optional(seen.send_limit),
            str(round(self._max_pause * 1_000_000)),
        )
        try:
            await self._run("observe", *args)
        except _UNREACHABLE as exc:
            # The response is already here and must not fail for this; the next
            # acquire reports the outage (or falls back).
            _log.warning("could not share a rate-limit observation through Redis: %s", exc)

    def _refusal(self, scope: str, seconds: float) -> RateLimitError:
        """The 429 that refuses `scope`: ours if this process saw it, else its like."""
        seen = self._refusals.get(scope)
        if seen is not None:
            return seen
        return refusal_error(scope, seconds, "another worker sharing the limiter")

    async def _run(self, op: str, *args: str) -> tuple[str, int]:
        allowance = self._spread.allowance + self._redis_spread.allowance
        allowance_us = round(allowance * 1_000_000)
        # The grant leaves Redis before the request leaves here, as for the allowance.
        longest = sum(spread.longest or 0.0 for spread in (self._spread, self._redis_spread))
        longest_us = round(longest * 1_000_000)
        started = self._clock.monotonic()
        result = await self._script(
            keys=[self._key], args=[op, *self._limits, allowance_us, longest_us, *args]
        )
        self._redis_spread.record(self._clock.monotonic() - started)
        if self._down_until is not None:
            _log.info("Redis is reachable again; rate limits are shared again")
            self._down_until = None
        verdict, micros, *limits = (_text(item) for item in result)
        shared = tuple(float(value) for value in limits)
        if shared != tuple(float(value) for value in self._limits) and shared != self._warned:
            self._warned = shared
            _log.warning(
                "this worker's limits (%s) differ from those shared under its key (%s); "
                "using the shared ones, so that no worker takes more than its share",
                _describe(self._limits),
                _describe(shared),
            )
        return verdict, int(micros)

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


# Retry-After goes to Redis in microseconds (exact in a double up to ~280 years);
# ten years is plenty to refuse.
_LONGEST = 10 * 365 * 24 * 3600.0


def _require_asyncio() -> None:
    """A clear error on trio, before anything is sent (redis-py's would be a RuntimeError)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise ConfigurationError(
            "RedisRateLimiter needs asyncio (redis-py's async client does not run on trio); "
            "use TokenBucketLimiter there"
        ) from None


def _optional(value: int | None) -> str:
    return "" if value is None else str(value)


def _text(item: object) -> str:
    return item.decode() if isinstance(item, bytes) else str(item)


def _describe(limits: tuple[float, ...]) -> str:
    rpm, burst, spm, send_burst = limits
    return f"{rpm:g}/min burst {burst:g}, sends {spm:g}/min burst {send_burst:g}"
