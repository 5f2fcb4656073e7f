"""Vector stores: one small interface, an embedded backend and a Weaviate backend.

The app opens one store per process with ``open_vector_store`` and reaches it only
through ``ScopedVectors``, which pins the customer (tenant).
"""

from __future__ import annotations

from pathlib import Path

from core.vectors.base import (
    ChunkRecord,
    SearchHit,
    SearchMode,
    VectorStore,
    VectorStoreError,
)
from core.vectors.scoped import ScopedVectors

__all__ = [
    "ChunkRecord",
    "ScopedVectors",
    "SearchHit",
    "SearchMode",
    "VectorStore",
    "VectorStoreError",
    "open_vector_store",
]


def open_vector_store(
    *,
    weaviate_url: str | None,
    weaviate_api_key: str | None,
    sqlite_path: Path,
    dimensions: int,
) -> VectorStore:
    """Weaviate when a URL is given, else the embedded SQLite file at ``sqlite_path``.

    Fails loudly (VectorStoreError) when the store can't be opened or reached.
    """
    # Imported here so the embedded default never loads the Weaviate client (and the
    # other way round): each pulls in its own native dependencies.
    if weaviate_url:
        from core.vectors.weaviate_store import WeaviateStore

        return WeaviateStore.connect(weaviate_url, weaviate_api_key, dimensions)
    from core.vectors.sqlite_store import SqliteVecStore

    return SqliteVecStore(sqlite_path, dimensions)
