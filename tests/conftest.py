"""Test-session set-up: the platform runs embedded, in a temporary data directory.

The environment is set here, before any Botfleet module is imported, because the one
settings object is read from it. REDIS_URL and DATABASE_URL, when given (as `.ci/run`
does for its PostgreSQL pass), are used as they are.
"""

from __future__ import annotations

import asyncio
import json
import logging
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

from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from workers.embedded_redis import EmbeddedRedis  # noqa: E402

# The LLM providers, in priority order: one that is down (every call falls back from it)
# and a fake OpenAI-compatible server on loopback, driven through the real openai client.
FAKE_LLM = FakeOpenAI(models=["fake-model"]).start()
os.environ["BOTFLEET_LLM_PROVIDERS"] = json.dumps(
    [
        {
            "name": "down",
            "base_url": "http://127.0.0.1:9/v1",
            "api_key": "sk-down",
            "models": ["fake-model"],
        },
        {
            "name": "fake",
            "base_url": FAKE_LLM.base_url,
            "api_key": "sk-test",
            "models": ["fake-model"],
        },
    ]
)

_embedded_redis: EmbeddedRedis | None = None
if not os.environ.get("REDIS_URL"):
    _embedded_redis = EmbeddedRedis(DATA_DIR / "redis").start()
    os.environ["REDIS_URL"] = _embedded_redis.url

from tests.support.otp import CodeLog  # noqa: E402
from tests.support.server import LiveServer  # noqa: E402
from tests.support.tenants import Tenant, register_tenant  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    FAKE_LLM.close()
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
def fx_llm() -> Iterator[FakeOpenAI]:
    """The fake LLM the app talks to, with an empty script and no recorded requests."""
    FAKE_LLM.reset()
    yield FAKE_LLM
    FAKE_LLM.reset()


@pytest.fixture
def fx_tenant(fx_client: httpx.Client) -> Tenant:
    return register_tenant(fx_client)


@pytest.fixture
def fx_other_tenant(fx_client: httpx.Client) -> Tenant:
    return register_tenant(fx_client)


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def fx_codes() -> Iterator[CodeLog]:
    """The codes the log sender prints, by identifier."""
    logger = logging.getLogger("botfleet.otp")
    handler = CodeLog()
    level = logger.level
    logger.setLevel(logging.INFO)  # the test suite runs at WARNING
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
