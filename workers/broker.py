"""The Dramatiq broker: built once, in this one place, from settings.

Importing this module sets the global broker, so it must be imported before any actor
module (`workers/__init__.py` does that).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from core.settings import Settings, SettingsError, get_settings


def build_broker(settings: Settings) -> RedisBroker:
    if settings.redis_url is None:
        raise SettingsError(
            "REDIS_URL: not set; start through `botfleet` (which runs an embedded Redis) "
            "or point REDIS_URL at a Redis server"
        )
    middleware = [
        AgeLimit(),  # drop messages older than their actor's max_age
        TimeLimit(),  # every actor sets time_limit explicitly
        ShutdownNotifications(),  # lets long actors stop cleanly on worker shutdown
        Callbacks(),
        Pipelines(),
        Retries(min_backoff=1_000, max_backoff=60_000),
        CurrentMessage(),  # actors read their message id for idempotency keys
    ]
    return RedisBroker(
        url=settings.redis_url,
        middleware=middleware,
        heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
        maintenance_chance=settings.broker_maintenance_chance,
    )


broker = build_broker(get_settings())
dramatiq.set_broker(broker)
