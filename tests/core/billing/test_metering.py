"""Metering: every event is folded into its customer's counter exactly once.

DB work runs on the live server's loop (`fx_server.run`), where the PostgreSQL pool lives
when DATABASE_URL points there, so these tests hold on both backends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from core.billing import metering, usage
from tables.billing import UsageCounter, UsageEvent, UsageKind
from tests.support.knowledge import make_bot
from tests.support.server import LiveServer
from tests.support.tenants import Tenant

KINDS = (UsageKind.chat, UsageKind.embedding, UsageKind.memory)


async def _write_events(
    customer_id: str, chatbot_id: str | None, count: int, seed: int
) -> tuple[int, int]:
    """`count` events with varied tokens, in one transaction (fast on SQLite); their sums."""
    inp = out = 0
    async with UsageEvent._meta.db.transaction():
        for i in range(count):
            tokens_in, tokens_out = 10 + (seed * 7 + i * 13) % 97, (seed + i * 5) % 41
            await usage.record(
                idempotency_key=f"test:{customer_id}:{seed}:{i}",
                customer_id=uuid.UUID(customer_id),
                chatbot_id=uuid.UUID(chatbot_id) if chatbot_id else None,
                kind=KINDS[i % len(KINDS)],
                model="test-model",
                input_tokens=tokens_in,
                output_tokens=tokens_out,
            )
            inp, out = inp + tokens_in, out + tokens_out
    return inp, out


async def _event_sums(customer_id: str) -> tuple[int, int]:
    rows = await UsageEvent.select(UsageEvent.input_tokens, UsageEvent.output_tokens).where(
        UsageEvent.customer == customer_id
    )
    return sum(r["input_tokens"] for r in rows), sum(r["output_tokens"] for r in rows)


async def _counter(customer_id: str) -> tuple[int, int, int] | None:
    row = await UsageCounter.select().where(UsageCounter.customer == customer_id).first()
    if row is None:
        return None
    return row["input_used"], row["output_used"], row["total_used"]


async def _pending(customer_id: str | None = None) -> int:
    query = UsageEvent.count().where(UsageEvent.metered_at.is_null())
    if customer_id is not None:
        query = query.where(UsageEvent.customer == customer_id)
    return await query


def _assert_exact(fx_server: LiveServer, tenant: Tenant) -> None:
    inp, out = fx_server.run(_event_sums(tenant.customer_id))
    assert fx_server.run(_counter(tenant.customer_id)) == (inp, out, inp + out)
    assert fx_server.run(_pending(tenant.customer_id)) == 0


@pytest.fixture
def fx_small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny batches, so concurrent folds interleave over many claims and counter updates."""
    monkeypatch.setattr(metering, "BATCH_SIZE", 7)


def test_concurrent_folds_count_every_event_once(
    fx_server: LiveServer,
    fx_client: httpx.Client,
    fx_tenant: Tenant,
    fx_other_tenant: Tenant,
    fx_small_batches: None,
) -> None:
    a_bot, b_bot = make_bot(fx_client, fx_tenant), make_bot(fx_client, fx_other_tenant)
    fx_server.run(_write_events(fx_tenant.customer_id, a_bot, 120, seed=1))
    fx_server.run(_write_events(fx_other_tenant.customer_id, b_bot, 90, seed=2))
    pending = fx_server.run(_pending())

    async def folds() -> list[int]:
        a = uuid.UUID(fx_tenant.customer_id)
        return await asyncio.gather(*(metering.fold(a if i % 3 == 0 else None) for i in range(8)))

    folded = fx_server.run(folds())

    # Each claimed event is reported by exactly one fold: a double claim would overshoot.
    assert sum(folded) == pending
    assert fx_server.run(_pending()) == 0
    _assert_exact(fx_server, fx_tenant)
    _assert_exact(fx_server, fx_other_tenant)


def test_a_second_fold_and_a_retry_after_a_partial_fold_change_nothing(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant, fx_other_tenant: Tenant
) -> None:
    a_bot, b_bot = make_bot(fx_client, fx_tenant), make_bot(fx_client, fx_other_tenant)
    fx_server.run(_write_events(fx_tenant.customer_id, a_bot, 40, seed=3))
    fx_server.run(_write_events(fx_other_tenant.customer_id, b_bot, 25, seed=4))

    # A run that got through customer A only, then died; the retry folds everything.
    assert fx_server.run(metering.fold(uuid.UUID(fx_tenant.customer_id))) == 40
    assert fx_server.run(_pending(fx_other_tenant.customer_id)) == 25
    fx_server.run(metering.fold())
    a_after, b_after = (
        fx_server.run(_counter(fx_tenant.customer_id)),
        fx_server.run(_counter(fx_other_tenant.customer_id)),
    )
    _assert_exact(fx_server, fx_tenant)
    _assert_exact(fx_server, fx_other_tenant)

    # Running again (a duplicate message, a scheduler tick) finds nothing to add.
    for customer in (fx_tenant.customer_id, fx_other_tenant.customer_id):
        assert fx_server.run(metering.fold(uuid.UUID(customer))) == 0
    fx_server.run(metering.fold())
    assert fx_server.run(_counter(fx_tenant.customer_id)) == a_after
    assert fx_server.run(_counter(fx_other_tenant.customer_id)) == b_after


def test_a_fold_that_crashes_before_commit_leaves_no_trace(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = make_bot(fx_client, fx_tenant)
    fx_server.run(_write_events(fx_tenant.customer_id, bot, 10, seed=5))
    customer = uuid.UUID(fx_tenant.customer_id)

    class Crash(Exception):
        pass

    async def crash_after_fold() -> None:
        # The fold's claim and counter update join this transaction; dying before COMMIT
        # must undo both together.
        async with UsageEvent._meta.db.transaction():
            assert await metering.fold(customer) == 10
            raise Crash

    with pytest.raises(Crash):
        fx_server.run(crash_after_fold())
    assert fx_server.run(_pending(fx_tenant.customer_id)) == 10
    assert fx_server.run(_counter(fx_tenant.customer_id)) is None

    assert fx_server.run(metering.fold(customer)) == 10
    _assert_exact(fx_server, fx_tenant)


def test_more_events_arrive_after_a_fold(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = make_bot(fx_client, fx_tenant)
    customer = uuid.UUID(fx_tenant.customer_id)
    for seed in (6, 7, 8):
        fx_server.run(_write_events(fx_tenant.customer_id, bot, 5, seed=seed))
        fx_server.run(metering.fold(customer))
        _assert_exact(fx_server, fx_tenant)


def _run_and_compare(
    fx_server: LiveServer, customer: uuid.UUID, step: Callable[[], Awaitable[Any]]
) -> None:
    """The summary is the same before and after `step` (a fold): exact without folding."""
    before = fx_server.run(metering.usage_summary(customer))
    fx_server.run(step())
    assert fx_server.run(metering.usage_summary(customer)) == before


def test_summary_breaks_usage_down_and_is_exact_before_a_fold(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    customer = uuid.UUID(fx_tenant.customer_id)
    support, sales = (
        make_bot(fx_client, fx_tenant, "Support"),
        make_bot(fx_client, fx_tenant, "Sales"),
    )

    async def write() -> None:
        for key, bot, kind, inp, out in [
            ("c1", support, UsageKind.chat, 100, 40),
            ("c2", support, UsageKind.chat, 50, 10),
            ("e1", support, UsageKind.embedding, 1_000, 0),
            ("c3", sales, UsageKind.chat, 7, 3),
        ]:
            await usage.record(
                idempotency_key=f"summary:{customer}:{key}",
                customer_id=customer,
                chatbot_id=uuid.UUID(bot),
                kind=kind,
                model="m",
                input_tokens=inp,
                output_tokens=out,
            )
        # One of them happened yesterday (UTC).
        yesterday = datetime.now(UTC) - timedelta(days=1)
        await UsageEvent.update({UsageEvent.created_at: yesterday}).where(
            UsageEvent.idempotency_key == f"summary:{customer}:c3"
        )

    fx_server.run(write())
    _run_and_compare(fx_server, customer, lambda: metering.fold(customer))
    summary = fx_server.run(metering.usage_summary(customer))

    assert summary.used == metering.Tokens(1_157, 53)
    assert summary.quota == 1_000_000
    assert summary.remaining == 1_000_000 - 1_210
    assert summary.by_kind == {
        UsageKind.chat: metering.Tokens(157, 53),
        UsageKind.embedding: metering.Tokens(1_000, 0),
        UsageKind.memory: metering.Tokens(0, 0),
    }
    assert [(str(b.chatbot_id), b.name, b.tokens) for b in summary.by_chatbot] == [
        (support, "Support", metering.Tokens(1_150, 50)),
        (sales, "Sales", metering.Tokens(7, 3)),
    ]
    stamp = fx_server.run(
        UsageEvent.select(UsageEvent.created_at)
        .where(UsageEvent.idempotency_key == f"summary:{customer}:c1")
        .first()
    )
    today = stamp["created_at"].astimezone(UTC).date()  # not now(): midnight may have passed
    assert [(d.day, d.tokens) for d in summary.by_day] == [
        (today - timedelta(days=1), metering.Tokens(7, 3)),
        (today, metering.Tokens(1_150, 50)),
    ]
    assert all(isinstance(d.day, date) for d in summary.by_day)
