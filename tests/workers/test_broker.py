"""A Dramatiq round trip through the real broker (embedded or system Redis, per REDIS_URL)."""

from __future__ import annotations

import uuid

import dramatiq
import redis
from dramatiq import Worker

from core.settings import get_settings
from workers.actors import broker

RESULT_KEY = "botfleet:test:roundtrip:"


@dramatiq.actor(actor_name="tests.echo", queue_name="tests", max_retries=0, time_limit=10_000)
def echo(token: str) -> None:
    client = redis.Redis.from_url(get_settings().redis_url)
    client.set(RESULT_KEY + token, token, ex=60)


def test_round_trip_through_the_broker() -> None:
    client = redis.Redis.from_url(get_settings().redis_url)
    token = uuid.uuid4().hex
    worker = Worker(broker, worker_timeout=100, worker_threads=1, queues={"tests"})
    worker.start()
    try:
        echo.send(token)
        broker.join("tests", timeout=10_000)
        worker.join()
    finally:
        worker.stop()
    assert client.get(RESULT_KEY + token) == token.encode()


def test_messages_wait_for_a_worker() -> None:
    """Enqueued while no worker runs, processed once one starts (the broker keeps them)."""
    client = redis.Redis.from_url(get_settings().redis_url)
    tokens = [uuid.uuid4().hex for _ in range(5)]
    for token in tokens:
        echo.send(token)
    assert all(client.get(RESULT_KEY + token) is None for token in tokens)
    worker = Worker(broker, worker_timeout=100, worker_threads=2, queues={"tests"})
    worker.start()
    try:
        broker.join("tests", timeout=10_000)
        worker.join()
    finally:
        worker.stop()
    assert [client.get(RESULT_KEY + t) for t in tokens] == [t.encode() for t in tokens]
