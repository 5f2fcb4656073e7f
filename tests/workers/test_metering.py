"""The real `metering.fold` actor, enqueued the way the scheduler does, in a worker process."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import httpx
import redis

from core.billing import usage
from core.settings import get_settings
from tables.billing import UsageCounter, UsageEvent, UsageKind
from tests.support.knowledge import make_bot
from tests.support.server import LiveServer
from tests.support.tenants import Tenant
from tests.support.worker import WorkerProcess
from workers.scheduler import SCHEDULE, Periodic, enqueue_due


def test_the_scheduled_fold_fills_the_counters(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    assert Periodic("metering.fold", every=timedelta(minutes=1)) in SCHEDULE
    bot = make_bot(fx_client, fx_tenant)
    for i in range(12):
        fx_server.run(
            usage.record(
                idempotency_key=f"worker-test:{fx_tenant.customer_id}:{i}",
                customer_id=uuid.UUID(fx_tenant.customer_id),
                chatbot_id=uuid.UUID(bot),
                kind=UsageKind.chat,
                model="m",
                input_tokens=100 + i,
                output_tokens=i,
            )
        )
    expected = (sum(100 + i for i in range(12)), sum(range(12)))

    client = redis.Redis.from_url(get_settings().redis_url)
    try:
        # A fresh period, so no earlier claim of this slot stops the enqueue.
        period = timedelta(seconds=3600 + uuid.uuid4().int % 1000)
        assert enqueue_due(client, [Periodic("metering.fold", period)], time.time()) == [
            "metering.fold"
        ]
    finally:
        client.close()

    with WorkerProcess(["metering"], threads=1):
        deadline = time.monotonic() + 60
        while True:
            counter = fx_server.run(
                UsageCounter.select().where(UsageCounter.customer == fx_tenant.customer_id).first()
            )
            if counter is not None:
                break
            assert time.monotonic() < deadline, "the worker never folded the events"
            time.sleep(0.05)

    assert (counter["input_used"], counter["output_used"]) == expected
    assert counter["total_used"] == sum(expected)
    pending = fx_server.run(
        UsageEvent.count().where(
            UsageEvent.customer == fx_tenant.customer_id, UsageEvent.metered_at.is_null()
        )
    )
    assert pending == 0
