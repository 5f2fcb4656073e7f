"""Fixtures for the embedding tests."""

from __future__ import annotations

import pytest

from core.embeddings import LocalEmbedder, build_embedder


@pytest.fixture(scope="session")
def fx_local_embedder() -> LocalEmbedder:
    """The bundled model, loaded once for the whole session (it is a process-wide singleton)."""
    embedder = build_embedder(provider="local")
    assert isinstance(embedder, LocalEmbedder)
    return embedder
