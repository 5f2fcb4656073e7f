"""Test-session set-up: the platform runs embedded, in a temporary data directory.

The environment is set here, before any Botfleet module is imported, because the one
settings object is read from it. REDIS_URL and DATABASE_URL, when given (as `.ci/run`
does for its PostgreSQL pass), are used as they are.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

DATA_DIR = Path(tempfile.mkdtemp(prefix="botfleet-test-"))
os.environ["BOTFLEET_DATA_DIR"] = str(DATA_DIR)
os.environ["BOTFLEET_ENV"] = "test"
os.environ["SECRET_KEY"] = "test-secret-key-that-is-long-enough-0123456789"
os.environ.setdefault("BOTFLEET_LOG_LEVEL", "WARNING")
os.environ.setdefault("BOTFLEET_PUBLIC_URL", "https://bots.example.test")

from workers.embedded_redis import EmbeddedRedis  # noqa: E402

_embedded_redis: EmbeddedRedis | None = None
if not os.environ.get("REDIS_URL"):
    _embedded_redis = EmbeddedRedis(DATA_DIR / "redis").start()
    os.environ["REDIS_URL"] = _embedded_redis.url

from tests.support.server import LiveServer  # noqa: E402
from tests.support.tenants import Tenant, register_tenant  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    if _embedded_redis is not None:
        _embedded_redis.stop()
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def fx_migrated() -> None:
    from core.database import migrate

    asyncio.run(migrate())


@pytest.fixture(scope="session")
def fx_server(fx_migrated: None) -> Iterator[LiveServer]:
    from api.app import create_app

    with LiveServer(create_app()) as server:
        yield server


@pytest.fixture
def fx_client(fx_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fx_server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def fx_tenant(fx_client: httpx.Client) -> Tenant:
    return register_tenant(fx_client)


@pytest.fixture
def fx_other_tenant(fx_client: httpx.Client) -> Tenant:
    return register_tenant(fx_client)


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"
