"""Embeddings: one interface, two providers (the bundled local model and OpenAI-compatible).

Importing this package is cheap: torch loads only when a local model is first built.
"""

from __future__ import annotations

from typing import Literal

from core.embeddings.base import (
    CacheInfo,
    Embedder,
    EmbeddingBatch,
    EmbeddingError,
    QueryCache,
    estimate_tokens,
    normalise,
)
from core.embeddings.local import BUNDLED_MODEL_NAME, LocalEmbedder, local_tokenizer
from core.embeddings.openai_compat import OpenAIEmbedder

__all__ = [
    "BUNDLED_MODEL_NAME",
    "CacheInfo",
    "Embedder",
    "EmbeddingBatch",
    "EmbeddingError",
    "LocalEmbedder",
    "OpenAIEmbedder",
    "QueryCache",
    "build_embedder",
    "estimate_tokens",
    "local_tokenizer",
    "normalise",
]

Provider = Literal["local", "openai"]


def build_embedder(
    *,
    provider: Provider,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    dimensions: int | None = None,
    timeout: float = 30.0,
    max_retries: int = 2,
) -> Embedder:
    """Build the configured embedder from explicit arguments (settings calls this).

    ``local``: ``model`` is None (the bundled all-MiniLM-L6-v2) or a model directory;
    the same object is returned on every call in a process. ``openai``: ``model`` is
    required; ``dimensions`` is sent to the endpoint only when given.
    """
    if provider == "local":
        embedder = LocalEmbedder.load(model)
        if dimensions is not None and dimensions != embedder.dimensions:
            raise ValueError(
                f"{embedder.name} produces {embedder.dimensions}-dimensional vectors, "
                f"but {dimensions} are configured"
            )
        return embedder
    if provider == "openai":
        if not model:
            raise ValueError("an embedding model name is required for the openai provider")
        return OpenAIEmbedder(
            model=model,
            base_url=base_url,
            api_key=api_key,
            dimensions=dimensions,
            timeout=timeout,
            max_retries=max_retries,
        )
    raise ValueError(f"unknown embedding provider {provider!r}; expected 'local' or 'openai'")
