"""Metering actor: folds the usage outbox into counters; run every minute by the scheduler.

Idempotent by construction (core.billing.metering claims each event once), so a retry, a
duplicate scheduler tick or two workers folding at once change nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import dramatiq

from core.billing import metering
from workers.broker import broker  # noqa: F401 - binds the actor below to our broker

logger = logging.getLogger("botfleet.workers.metering")
# A failed fold loses nothing (events stay unmetered for the next one), so few retries.
MAX_RETRIES = 3
TIME_LIMIT_MS = 5 * 60 * 1000


# Its own queue: a fold is quick and must not wait behind a backlog of other jobs.
@dramatiq.actor(
    actor_name="metering.fold",
    queue_name="metering",
    max_retries=MAX_RETRIES,
    time_limit=TIME_LIMIT_MS,
)
def fold(customer_id: str | None = None) -> None:
    """Fold one customer's pending events, or everyone's (the scheduled run passes none)."""
    folded = asyncio.run(metering.fold(uuid.UUID(customer_id) if customer_id else None))
    if folded:
        logger.info("folded %d usage events", folded)
