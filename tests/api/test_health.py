"""Liveness and readiness, including a broker that goes away and comes back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port, wait_until_answering
from workers.embedded_redis import EmbeddedRedis


def test_liveness_answers(fx_client: httpx.Client) -> None:
    response = fx_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_reports_every_backend(fx_client: httpx.Client) -> None:
    response = fx_client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "vector_store"}
    expected_db = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    assert body["checks"]["database"]["backend"] == expected_db
    assert all(check["ok"] for check in body["checks"].values())


def test_openapi_schema_is_served(fx_client: httpx.Client) -> None:
    response = fx_client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/health" in response.json()["paths"]


@pytest.fixture
def fx_own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield server
    server.stop()


def test_readiness_turns_503_without_broker_and_recovers(
    fx_migrated: None, fx_own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    """A real `botfleet serve` process whose Redis is stopped and started again."""
    port = free_port()
    env = {**os.environ, "REDIS_URL": fx_own_redis.url}
    api = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/health")
        assert httpx.get(f"{base}/api/v1/health").status_code == 200

        fx_own_redis.stop()
        assert httpx.get(f"{base}/health").status_code == 200
        down = httpx.get(f"{base}/api/v1/health", timeout=10)
        assert down.status_code == 503
        assert down.headers["content-type"].startswith("application/json")
        checks = down.json()["checks"]
        assert checks["broker"]["ok"] is False and checks["broker"]["error"]
        assert checks["database"]["ok"] is True

        fx_own_redis.start()
        deadline = time.monotonic() + 15
        while httpx.get(f"{base}/api/v1/health", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "readiness did not recover after Redis returned"
            time.sleep(0.2)
    finally:
        api.terminate()
        api.wait(timeout=30)
