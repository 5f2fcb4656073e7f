"""Per-process clients for actors: built on first use, shared by the worker's threads."""

from __future__ import annotations

import threading

from core.embeddings import local_tokenizer
from core.knowledge.ingestion import Pipeline
from core.resources import embedder_for, vector_store_for
from core.settings import get_settings

_lock = threading.Lock()
_pipeline: Pipeline | None = None


def pipeline() -> Pipeline:
    global _pipeline
    with _lock:  # the first call loads the model; every later one shares it
        if _pipeline is None:
            settings = get_settings()
            _pipeline = Pipeline(
                embedder=embedder_for(settings),
                store=vector_store_for(settings),
                uploads_dir=settings.uploads_dir,
                tokenizer=local_tokenizer(),
                batch_size=settings.ingest_batch_size,
            )
        return _pipeline
