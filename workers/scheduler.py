"""The scheduler process: enqueues periodic actors, once per period across all schedulers.

Time is cut into slots of each job's period (UTC epoch based, so a daily job runs at
00:00 UTC). The first scheduler to claim a slot in Redis (`SET NX`) enqueues it; a scheduler
started mid-slot runs a job it finds unclaimed, so a restart never skips a period.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import redis

from core.settings import get_settings

logger = logging.getLogger("botfleet.scheduler")
TICK_S = 1.0


@dataclass(frozen=True, slots=True)
class Periodic:
    actor_name: str
    every: timedelta


# Filled in as the areas that own periodic work land (session cleanup, invoices, ...).
SCHEDULE: tuple[Periodic, ...] = (
    # Counters lag events by at most a minute; the quota check adds pending events anyway.
    Periodic("metering.fold", every=timedelta(minutes=1)),
    # Idle sessions past the retention, spent one-time codes.
    Periodic("sessions.cleanup", every=timedelta(days=1)),
)


def enqueue_due(client: redis.Redis, schedule: Sequence[Periodic], now: float) -> list[str]:
    """Enqueue every job whose current slot nobody has claimed; returns their names."""
    from workers.actors import broker

    sent = []
    for job in schedule:
        period = job.every.total_seconds()
        slot = int(now // period)
        key = f"botfleet:schedule:{job.actor_name}:{slot}"
        if client.set(key, str(now), nx=True, ex=int(period) + 60):
            broker.get_actor(job.actor_name).send()
            sent.append(job.actor_name)
            logger.info("enqueued %s (slot %d)", job.actor_name, slot)
    return sent


def run_scheduler(stop: Callable[[], bool], schedule: Sequence[Periodic] = SCHEDULE) -> None:
    settings = get_settings()
    assert settings.redis_url is not None
    client = redis.Redis.from_url(settings.redis_url)
    logger.info("scheduler started with %d periodic jobs", len(schedule))
    try:
        while not stop():
            try:
                enqueue_due(client, schedule, time.time())
            except redis.RedisError:
                logger.warning("broker unreachable; retrying", exc_info=True)
            time.sleep(TICK_S)
    finally:
        client.close()
