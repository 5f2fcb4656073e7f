"""Rate limits and the demo limit, counted in the real Redis the suite runs on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from litestar import get
from litestar.testing import create_test_client

from api.errors import EXCEPTION_HANDLERS
from core import limits
from core.errors import TooManyRequests
from core.settings import get_settings


def _client() -> aioredis.Redis:
    """A client of its own, like a separate API process would have."""
    url = get_settings().redis_url
    assert url is not None
    return aioredis.from_url(url)


def _run(test: Callable[..., Coroutine[Any, Any, None]], clients: int = 1) -> None:
    """Run `test(*clients)` in a fresh loop (no DB involved, so no need for the server's)."""

    async def main() -> None:
        opened = [_client() for _ in range(clients)]
        try:
            await test(*opened)
        finally:
            for client in opened:
                await client.aclose()

    asyncio.run(main())


def _key() -> str:
    return f"test:{uuid.uuid4()}"


async def _expire_now(redis: aioredis.Redis, key: str) -> None:
    """End the window at once instead of sleeping through it: an expired key is a gone key."""
    await redis.delete(limits.PREFIX + key)


def test_a_window_allows_the_limit_then_refuses_with_headers() -> None:
    async def test(redis: aioredis.Redis) -> None:
        key = _key()
        states = [await limits.hit(redis, key, limit=3, window_s=60) for _ in range(4)]
        assert [s.allowed for s in states] == [True, True, True, False]
        assert [s.remaining for s in states] == [2, 1, 0, 0]
        assert all(1 <= s.reset_s <= 60 for s in states)
        assert states[0].headers() == {
            "X-RateLimit-Limit": "3",
            "X-RateLimit-Remaining": "2",
            "X-RateLimit-Reset": str(states[0].reset_s),
        }
        refused = states[-1].headers()
        assert refused["X-RateLimit-Remaining"] == "0"
        assert refused["Retry-After"] == refused["X-RateLimit-Reset"] == str(states[-1].reset_s)

    _run(test)


def test_the_window_resets_to_the_full_limit() -> None:
    async def test(redis: aioredis.Redis) -> None:
        key = _key()
        for _ in range(3):
            await limits.hit(redis, key, limit=2, window_s=30)
        await _expire_now(redis, key)
        fresh = await limits.hit(redis, key, limit=2, window_s=30)
        assert fresh.allowed and fresh.remaining == 1
        assert 29 <= fresh.reset_s <= 30  # a new window, timed from this hit

    _run(test)


def test_the_window_does_not_slide_with_each_hit() -> None:
    async def test(redis: aioredis.Redis) -> None:
        key = _key()
        await limits.hit(redis, key, limit=5, window_s=60)
        await redis.pexpire(limits.PREFIX + key, 10_000)  # as if 50 s had passed
        later = await limits.hit(redis, key, limit=5, window_s=60)
        assert later.reset_s == 10 and later.remaining == 3

    _run(test)


def test_two_processes_share_one_count_exactly() -> None:
    async def test(first: aioredis.Redis, second: aioredis.Redis) -> None:
        key = _key()
        await limits.hit(first, key, limit=10, window_s=60)
        seen = await limits.hit(second, key, limit=10, window_s=60)
        assert seen.remaining == 8

        # 60 concurrent requests through both clients: exactly the limit gets through.
        other = _key()
        states = await asyncio.gather(
            *(limits.hit((first, second)[i % 2], other, limit=25, window_s=60) for i in range(60))
        )
        assert sum(s.allowed for s in states) == 25

    _run(test, clients=2)


def test_enforce_raises_429_carrying_the_headers() -> None:
    async def test(redis: aioredis.Redis) -> None:
        key = _key()
        ok = await limits.enforce(redis, key, limit=1, window_s=60)
        assert ok.allowed
        with pytest.raises(TooManyRequests) as refused:
            await limits.enforce(redis, key, limit=1, window_s=60)
        assert refused.value.status == 429
        assert refused.value.headers is not None
        assert refused.value.headers["Retry-After"] == refused.value.headers["X-RateLimit-Reset"]
        assert "rate limit of 1 per 60 s reached" in refused.value.detail

    _run(test)


def test_bad_arguments_are_refused() -> None:
    async def test(redis: aioredis.Redis) -> None:
        with pytest.raises(ValueError):
            await limits.hit(redis, _key(), limit=0, window_s=60)

    _run(test)


def test_the_demo_limit_counts_per_chatbot_and_anonymous_session() -> None:
    async def test(first: aioredis.Redis, second: aioredis.Redis) -> None:
        bot, other_bot, session = uuid.uuid4(), uuid.uuid4(), str(uuid.uuid4())
        left = [
            await limits.count_demo_message((first, second)[i % 2], bot, session, limit=3)
            for i in range(3)
        ]
        assert left == [2, 1, 0]
        with pytest.raises(TooManyRequests) as refused:
            await limits.count_demo_message(first, bot, session, limit=3)
        assert refused.value.detail == (
            "this chatbot allows 3 messages without signing in; sign in to keep chatting"
        )
        assert refused.value.headers == {"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0"}

        # Another session, or the same session on another bot, has its own allowance.
        assert await limits.count_demo_message(first, bot, str(uuid.uuid4()), limit=3) == 2
        assert await limits.count_demo_message(first, other_bot, session, limit=3) == 2

        # The count lives as long as the anonymous session (24 h by default), no longer.
        ttl = await first.ttl(f"{limits.DEMO_PREFIX}{bot}:{session}")
        assert 24 * 3600 - 5 <= ttl <= 24 * 3600

    _run(test, clients=2)


def test_a_demo_limit_of_zero_refuses_the_first_message() -> None:
    async def test(redis: aioredis.Redis) -> None:
        with pytest.raises(TooManyRequests):
            await limits.count_demo_message(redis, uuid.uuid4(), "s", limit=0)

    _run(test)


@pytest.fixture
def fx_limited_app() -> Iterator[Any]:
    """A one-route app with the real exception handlers: how a 429 reaches the wire."""
    key = _key()

    @get("/limited")
    async def limited() -> dict[str, str]:
        redis = _client()
        try:
            await limits.enforce(redis, key, limit=1, window_s=60)
        finally:
            await redis.aclose()
        return {"ok": "yes"}

    with create_test_client([limited], exception_handlers=EXCEPTION_HANDLERS) as client:
        yield client


def test_a_refusal_answers_429_problem_details_with_the_headers(fx_limited_app: Any) -> None:
    assert fx_limited_app.get("/limited").status_code == 200
    refused = fx_limited_app.get("/limited")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["x-ratelimit-limit"] == "1"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["detail"].startswith("rate limit of 1 per 60 s reached")
