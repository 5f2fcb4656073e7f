"""The scheduler enqueues a periodic job once per period, however many schedulers run."""

from __future__ import annotations

import uuid
from datetime import timedelta

import dramatiq
import redis

from core.settings import get_settings
from workers.actors import broker
from workers.scheduler import Periodic, enqueue_due


@dramatiq.actor(
    actor_name="tests.tick", queue_name="tests-schedule", max_retries=0, time_limit=5_000
)
def tick() -> None:
    pass


def test_one_enqueue_per_slot_across_schedulers() -> None:
    client = redis.Redis.from_url(get_settings().redis_url)
    # A fresh, unique period so earlier runs' claims don't interfere.
    period = timedelta(seconds=3600 + uuid.uuid4().int % 1000)
    schedule = [Periodic(actor_name="tests.tick", every=period)]
    now = 1_900_000_000.0
    broker.flush("tests-schedule")

    first = enqueue_due(client, schedule, now)
    second = enqueue_due(client, schedule, now + 1)  # another scheduler, same slot
    next_slot = enqueue_due(client, schedule, now + period.total_seconds())

    assert first == ["tests.tick"]
    assert second == []
    assert next_slot == ["tests.tick"]
    queued = client.llen(f"dramatiq:{'tests-schedule'}")  # Redis broker queue key
    assert queued == 2
    broker.flush("tests-schedule")
