"""Readiness checks of every backend, run concurrently, each with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import perf_counter

import anyio.to_thread
import msgspec
from piccolo.engine.postgres import PostgresEngine

from core.resources import Resources

CHECK_TIMEOUT_S = 2.0


class BackendCheck(msgspec.Struct):
    ok: bool
    latency_ms: float
    backend: str
    error: str | None = None


async def _timed(backend: str, probe: Callable[[], Awaitable[object]]) -> BackendCheck:
    started = perf_counter()
    try:
        await asyncio.wait_for(probe(), timeout=CHECK_TIMEOUT_S)
    except Exception as exc:  # any failure of a probe is the answer, not an error
        error = str(exc) or type(exc).__name__
        return BackendCheck(False, _ms_since(started), backend, error)
    return BackendCheck(True, _ms_since(started), backend)


def _ms_since(started: float) -> float:
    return round((perf_counter() - started) * 1000, 2)


async def check_backends(resources: Resources) -> dict[str, BackendCheck]:
    db_kind = "postgresql" if isinstance(resources.db, PostgresEngine) else "sqlite"
    vector_kind = type(resources.vectors).__name__
    database, broker, vectors = await asyncio.gather(
        _timed(db_kind, lambda: resources.db.run_ddl("SELECT 1")),
        _timed("redis", resources.redis.ping),
        _timed(vector_kind, lambda: anyio.to_thread.run_sync(resources.vectors.ping)),
    )
    return {"database": database, "broker": broker, "vector_store": vectors}
