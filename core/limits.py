"""Rate limits and the anonymous demo limit, counted in Redis so every API process shares them.

Algorithm: a fixed window that opens at a key's first hit. One Lua script increments the
key's count and, on the first hit, gives it a TTL of the window; the count and the TTL's
remainder come back in the same atomic step. So there is no read-modify-write race between
processes, and the window is timed by Redis's clock, not by the (possibly skewed) clocks of
the API hosts. The price of a fixed window is that a client may send up to 2x the limit
across a window boundary; for per-minute abuse protection that is an accepted trade for one
key and one round trip per check.

Why not Litestar's `RateLimitConfig`: its middleware keys by client IP before routing and
authentication (our keys are an API key or an end user, known only after auth), supports
only whole second/minute/hour/day units, and updates its store with a non-atomic get-then-
set of a timestamp list — concurrent requests from several processes can overwrite each
other's hits. A few lines of Lua give exact shared counts and the headers we need.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from core.errors import TooManyRequests

PREFIX = "botfleet:rl:"
DEMO_PREFIX = "botfleet:demo:"
DEMO_TTL_S = 24 * 3600  # an anonymous session lives a day after its last message

# KEYS[1] counter; ARGV[1] window in ms. Returns {count, ms until the window resets}.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""
_HIT_SHA = hashlib.sha1(_HIT.encode(), usedforsecurity=False).hexdigest()  # EVALSHA's id


@dataclass(frozen=True, slots=True)
class RateState:
    limit: int
    remaining: int
    reset_s: int  # seconds until the window resets and the full limit is available again
    allowed: bool

    def headers(self) -> dict[str, str]:
        """`X-RateLimit-*` for every answer; `Retry-After` too when the request was refused."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_s)
        return headers


async def _incr(redis: aioredis.Redis, key: str, window_ms: int) -> tuple[int, int]:
    try:
        count, ttl_ms = await redis.evalsha(_HIT_SHA, 1, key, window_ms)
    except NoScriptError:  # first use on this Redis (or after SCRIPT FLUSH): send the body
        count, ttl_ms = await redis.eval(_HIT, 1, key, window_ms)
    return int(count), int(ttl_ms)


async def hit(redis: aioredis.Redis, key: str, limit: int, window_s: int) -> RateState:
    """Count one request against `key` (e.g. "key:<api key id>" or "user:<end user id>")."""
    if limit < 1 or window_s < 1:
        raise ValueError("limit and window_s must be at least 1")
    count, ttl_ms = await _incr(redis, PREFIX + key, window_s * 1000)
    return RateState(
        limit=limit,
        remaining=max(0, limit - count),
        reset_s=max(1, math.ceil(ttl_ms / 1000)),
        allowed=count <= limit,
    )


async def enforce(redis: aioredis.Redis, key: str, limit: int, window_s: int) -> RateState:
    """`hit`, raising TooManyRequests (with the headers) when the request is over the limit."""
    state = await hit(redis, key, limit, window_s)
    if not state.allowed:
        raise TooManyRequests(
            f"rate limit of {limit} per {window_s} s reached; retry in {state.reset_s} s",
            headers=state.headers(),
        )
    return state


async def count_demo_message(
    redis: aioredis.Redis,
    chatbot_id: uuid.UUID,
    anon_key: str,
    limit: int,
    *,
    ttl_s: int = DEMO_TTL_S,
) -> int:
    """Count one message of an anonymous user; returns how many they have left after it.

    `anon_key` is the anonymous session id. The count lives as long as the session does
    (its TTL is renewed with every message), so it needs no other clean-up.
    """
    key = f"{DEMO_PREFIX}{chatbot_id}:{anon_key}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, ttl_s)
        count, _ = await pipe.execute()
    if count > limit:
        # No Retry-After: waiting doesn't help, signing in does.
        raise TooManyRequests(
            f"this chatbot allows {limit} messages without signing in; sign in to keep chatting",
            headers={"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"},
        )
    return limit - int(count)
