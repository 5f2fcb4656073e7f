"""Fixtures for the vector-store contract suite: one ``fx_store`` per backend.

The embedded store always runs (a fresh file in tmp_path). Weaviate runs only when
WEAVIATE_URL points at a server; each test run uses its own collection, dropped after.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID, uuid4

import numpy as np
import pytest

from core.vectors import VectorStore
from core.vectors.sqlite_store import SqliteVecStore

DIMS = 16


@pytest.fixture(params=["sqlite", pytest.param("weaviate", marks=pytest.mark.weaviate)])
def fx_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "sqlite":
        store: VectorStore = SqliteVecStore(tmp_path / "vectors.db", DIMS)
        yield store
        store.close()
        return
    url = os.environ.get("WEAVIATE_URL")
    if not url:
        pytest.skip("WEAVIATE_URL not set")
    from core.vectors.weaviate_store import WeaviateStore

    collection = f"ChunkTest{uuid4().hex[:12]}"
    weaviate_store = WeaviateStore.connect(
        url, os.environ.get("WEAVIATE_API_KEY"), DIMS, collection=collection
    )
    yield weaviate_store
    weaviate_store._client.collections.delete(collection)  # test-only cleanup
    weaviate_store.close()


@pytest.fixture
def fx_customer() -> UUID:
    """Each test makes its own tenant (convention 12)."""
    return uuid4()


@pytest.fixture
def fx_vec() -> Callable[[int], list[float]]:
    """Deterministic unit vectors: fx_vec(n) is always the same vector for the same n."""

    def make(seed: int) -> list[float]:
        v = np.random.default_rng(seed).standard_normal(DIMS)
        return (v / np.linalg.norm(v)).tolist()

    return make
