"""The per-process clients: one DB pool, one Redis client, one vector store.

Opened at start-up (failing loudly when a backend cannot be reached) and closed at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from piccolo.engine import engine_finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from core.embeddings import Embedder, build_embedder
from core.settings import Settings
from core.vectors import VectorStore, open_vector_store

# Short timeouts: a dead backend must show up in /api/v1/health in about a second.
REDIS_TIMEOUT_S = 1.0


class StartupError(RuntimeError):
    pass


def vector_store_for(settings: Settings) -> VectorStore:
    return open_vector_store(
        weaviate_url=settings.weaviate_url,
        weaviate_api_key=settings.weaviate_api_key,
        sqlite_path=settings.vectors_path,
        dimensions=settings.embedding_dimensions,
    )


def embedder_for(settings: Settings) -> Embedder:
    """The configured embedder; the local model loads once per process."""
    return build_embedder(
        provider=settings.embedding_provider,
        model=settings.embedding_model,
        base_url=settings.embedding_base_url,
        api_key=settings.embedding_api_key,
        dimensions=settings.embedding_dimensions,
    )


def redis_client(settings: Settings) -> aioredis.Redis:
    assert settings.redis_url is not None
    return aioredis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        socket_timeout=REDIS_TIMEOUT_S,
        retry_on_timeout=False,
    )


@dataclass
class Resources:
    settings: Settings
    db: Engine
    redis: aioredis.Redis
    vectors: VectorStore
    _embedder: Embedder | None = field(default=None, repr=False)
    _embedder_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def embedder(self) -> Embedder:
        """Loaded on first use, off the event loop (the local model takes seconds)."""
        if self._embedder is None:
            async with self._embedder_lock:
                if self._embedder is None:
                    self._embedder = await asyncio.to_thread(embedder_for, self.settings)
        return self._embedder

    @classmethod
    async def open(cls, settings: Settings) -> Resources:
        if settings.redis_url is None:
            raise StartupError("REDIS_URL: not set; `botfleet serve` starts an embedded Redis")
        db = engine_finder()
        if db is None:
            raise StartupError("piccolo_conf.py not found: install botfleet with pip install -e .")
        if isinstance(db, PostgresEngine):
            await db.start_connection_pool()
        redis = redis_client(settings)
        try:
            await db.run_ddl("SELECT 1")
            await redis.ping()
            vectors = vector_store_for(settings)
            vectors.ping()
        except Exception as exc:
            await redis.aclose()
            if isinstance(db, PostgresEngine):
                await db.close_connection_pool()
            raise StartupError(f"a backend cannot be reached at start-up: {exc}") from exc
        return cls(settings=settings, db=db, redis=redis, vectors=vectors)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.redis.aclose()
        self.vectors.close()
        if isinstance(self.db, PostgresEngine):
            await self.db.close_connection_pool()
