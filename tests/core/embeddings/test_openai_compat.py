"""The OpenAI-compatible embedder, through the real SDK against the loopback fake."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from core.embeddings import Embedder, EmbeddingError, OpenAIEmbedder, build_embedder
from core.embeddings.base import estimate_tokens
from tests.fakes.openai_server import FakeOpenAI, Reply, count_tokens, fake_embedding

TEXTS = ["Our refund policy lasts 30 days.", "Shipping is free over 50 euros.", "Hi"]


@pytest.fixture(scope="module")
def fx_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-embed") as fake:
        yield fake


@pytest.fixture
def fx_embedder(fx_fake: FakeOpenAI) -> Iterator[OpenAIEmbedder]:
    fx_fake.reset()
    embedder = build_embedder(
        provider="openai",
        model="fake-embed",
        base_url=fx_fake.base_url,
        api_key="sk-embed",
        dimensions=256,
        timeout=5.0,
        max_retries=0,
    )
    assert isinstance(embedder, OpenAIEmbedder)
    yield embedder
    embedder.close()


def test_requested_dimensions_and_reported_usage(
    fx_fake: FakeOpenAI, fx_embedder: OpenAIEmbedder
) -> None:
    batch = fx_embedder.embed_documents(TEXTS)

    assert isinstance(fx_embedder, Embedder)
    assert fx_embedder.name == "openai:fake-embed"
    assert fx_embedder.dimensions == 256
    assert [len(v) for v in batch.vectors] == [256, 256, 256]
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-9) for v in batch.vectors)
    assert batch.vectors[1] == pytest.approx(fake_embedding(TEXTS[1], 256))
    assert batch.tokens == sum(count_tokens(t) for t in TEXTS)
    assert batch.estimated is False
    (request,) = fx_fake.embedding_requests
    assert request.body == {
        "model": "fake-embed",
        "input": TEXTS,
        "dimensions": 256,
        "encoding_format": "float",
    }


def test_batches_keep_order_and_sum_usage(fx_fake: FakeOpenAI, fx_embedder: OpenAIEmbedder) -> None:
    fx_embedder.batch_size = 2
    texts = [f"document number {i} about topic {i % 3}" for i in range(5)]

    batch = fx_embedder.embed_documents(texts)

    assert len(fx_fake.embedding_requests) == 3
    assert [v[:4] for v in batch.vectors] == [
        pytest.approx(fake_embedding(t, 256)[:4]) for t in texts
    ]
    assert batch.tokens == sum(count_tokens(t) for t in texts)


def test_missing_usage_falls_back_to_an_estimate(
    fx_fake: FakeOpenAI, fx_embedder: OpenAIEmbedder
) -> None:
    fx_fake.push_embeddings(Reply(usage=False))

    batch = fx_embedder.embed_documents(TEXTS)

    assert batch.estimated is True
    assert batch.tokens == sum(estimate_tokens(t) for t in TEXTS)
    assert fx_embedder.count_tokens("abcdefgh") == 2


def test_query_embeddings_are_cached(fx_fake: FakeOpenAI, fx_embedder: OpenAIEmbedder) -> None:
    first = fx_embedder.embed_query("where is my order?")
    second = fx_embedder.embed_query("where is my order?")

    assert first == second
    assert len(fx_fake.embedding_requests) == 1
    assert fx_embedder.query_cache.info().hits == 1


def test_empty_text_is_embedded_not_rejected(fx_embedder: OpenAIEmbedder) -> None:
    batch = fx_embedder.embed_documents(["", "x"])

    assert len(batch.vectors) == 2


def test_known_model_size_without_dimensions_parameter(fx_fake: FakeOpenAI) -> None:
    fx_fake.reset()
    embedder = OpenAIEmbedder(
        model="text-embedding-3-small", base_url=fx_fake.base_url, api_key="sk-embed"
    )

    assert embedder.dimensions == 1536  # known without a request
    assert fx_fake.embedding_requests == []
    embedder.embed_documents(["hello"])
    assert "dimensions" not in (fx_fake.embedding_requests[0].body or {})


def test_unknown_model_size_is_probed_once(fx_fake: FakeOpenAI) -> None:
    fx_fake.reset()
    embedder = OpenAIEmbedder(
        model="some-local-model", base_url=fx_fake.base_url, api_key="sk-embed"
    )

    assert embedder.dimensions == 1536
    assert embedder.dimensions == 1536
    assert len(fx_fake.embedding_requests) == 1


def test_vectors_of_the_wrong_size_are_refused() -> None:
    with FakeOpenAI(default_dimensions=10) as fake:
        embedder = OpenAIEmbedder(model="text-embedding-3-small", base_url=fake.base_url)

        with pytest.raises(EmbeddingError, match="10-dimensional") as caught:
            embedder.embed_documents(["hello"])

    assert caught.value.retryable is False


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False)])
def test_errors_say_whether_a_retry_can_help(
    fx_fake: FakeOpenAI, fx_embedder: OpenAIEmbedder, status: int, retryable: bool
) -> None:
    fx_fake.push_embeddings(Reply(status=status, message="scripted"))

    with pytest.raises(EmbeddingError) as caught:
        fx_embedder.embed_documents(TEXTS)

    assert caught.value.retryable is retryable


def test_wrong_key_is_not_retryable(fx_fake: FakeOpenAI) -> None:
    embedder = OpenAIEmbedder(
        model="fake-embed", base_url=fx_fake.base_url, api_key="sk-wrong", max_retries=0
    )

    with pytest.raises(EmbeddingError, match="401") as caught:
        embedder.embed_query("hello")

    assert caught.value.retryable is False


def test_our_timeout_applies(fx_fake: FakeOpenAI) -> None:
    fx_fake.reset()
    fx_fake.push_embeddings(Reply(delay=2.0))
    embedder = build_embedder(
        provider="openai",
        model="fake-embed",
        base_url=fx_fake.base_url,
        api_key="sk-embed",
        dimensions=8,
        timeout=0.3,
        max_retries=0,
    )

    with pytest.raises(EmbeddingError) as caught:
        embedder.embed_documents(["slow"])

    assert caught.value.retryable is True


def test_sdk_retries_are_ours_to_set(fx_fake: FakeOpenAI) -> None:
    fx_fake.reset()
    fx_fake.push_embeddings(Reply(status=503, retry_after=0.01))
    embedder = OpenAIEmbedder(
        model="fake-embed", base_url=fx_fake.base_url, api_key="sk-embed", max_retries=1
    )

    batch = embedder.embed_documents(["eventually fine"])

    assert len(batch.vectors) == 1
    assert len(fx_fake.embedding_requests) == 2


def test_openai_provider_needs_a_model() -> None:
    with pytest.raises(ValueError, match="model"):
        build_embedder(provider="openai", base_url="http://127.0.0.1:9/v1")
