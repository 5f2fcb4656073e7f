"""Session retention: `sessions.cleanup`, run daily by the scheduler."""

from __future__ import annotations

import asyncio
import logging

import dramatiq

from core.chat.cleanup import cleanup
from core.settings import get_settings
from workers.broker import broker  # noqa: F401 - binds the actor below to our broker

logger = logging.getLogger("botfleet.workers.sessions")


@dramatiq.actor(
    actor_name="sessions.cleanup",
    queue_name="maintenance",
    max_retries=3,
    time_limit=15 * 60 * 1000,
)
def cleanup_sessions() -> None:
    """Idempotent: deleting what is already gone deletes nothing."""
    cleaned = asyncio.run(cleanup(idle_days=get_settings().session_retention_days))
    logger.info("cleanup: %s", cleaned)
