"""Any OpenAI-compatible embeddings endpoint (OpenAI, Azure-style gateways, vLLM, Ollama, ...)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import openai

from core.embeddings.base import EmbeddingBatch, EmbeddingError, QueryCache, estimate_tokens
from core.embeddings.base import normalise as _normalise

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Native sizes of OpenAI's own models, so the common case needs no probe request.
KNOWN_DIMENSIONS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
# OpenAI accepts at most 2048 inputs per request; smaller batches also keep one slow
# request from hitting the timeout.
DEFAULT_BATCH_SIZE = 128
# A key is required by the SDK even for endpoints that ignore it (a local vLLM/Ollama).
_NO_KEY = "not-needed"


class OpenAIEmbedder:
    """Embeds through the ``openai`` SDK.

    The client is built here, once, with our own timeout and retry policy (the SDK's
    default is a 600 s timeout and two retries). Every argument is explicit: the SDK
    would otherwise fall back to ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` from the
    environment, and settings are the only thing that reads the environment.
    """

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        batch_size: int = DEFAULT_BATCH_SIZE,
        query_cache_size: int = 1024,
    ) -> None:
        if dimensions is not None and dimensions < 1:
            raise ValueError("embedding dimensions must be a positive integer")
        self.model = model
        self.name = f"openai:{model}"
        self.batch_size = batch_size
        self.query_cache = QueryCache(query_cache_size)
        # Sent to the endpoint only when configured: many compatible servers reject the
        # parameter, and OpenAI's own models default to their native size anyway.
        self._requested_dimensions = dimensions
        self._dimensions = dimensions or KNOWN_DIMENSIONS.get(model)
        self._probe_lock = threading.Lock()
        self.client = openai.OpenAI(
            api_key=api_key or _NO_KEY,
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=timeout,
            max_retries=max_retries,
        )

    @property
    def dimensions(self) -> int:
        """The vector size; for an unknown model without configured dimensions, one
        request finds it out (the vector store needs it before the first upsert)."""
        if self._dimensions is None:
            with self._probe_lock:
                if self._dimensions is None:
                    vectors, _ = self._request(["dimension probe"])
                    self._dimensions = len(vectors[0])
        return self._dimensions

    def _request(self, texts: list[str]) -> tuple[list[list[float]], int | None]:
        """One API call: vectors in input order, and the reported token usage if any."""
        # The API rejects empty strings; a space embeds to "nothing in particular".
        inputs = [text if text else " " for text in texts]
        try:
            if self._requested_dimensions is not None:
                response = self.client.embeddings.create(
                    model=self.model,
                    input=inputs,
                    dimensions=self._requested_dimensions,
                    # "float" rather than the SDK's default base64: not every
                    # compatible server implements base64.
                    encoding_format="float",
                )
            else:
                response = self.client.embeddings.create(
                    model=self.model, input=inputs, encoding_format="float"
                )
        except (
            openai.APIConnectionError,
            openai.RateLimitError,
            openai.InternalServerError,
        ) as exc:
            raise EmbeddingError(
                f"embedding endpoint unavailable ({type(exc).__name__}): {exc}", retryable=True
            ) from exc
        except openai.APIStatusError as exc:
            raise EmbeddingError(
                f"embedding endpoint refused the request (HTTP {exc.status_code}): {exc.message}",
                retryable=exc.status_code in (408, 409) or exc.status_code >= 500,
            ) from exc
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"embedding request failed: {exc}", retryable=False) from exc

        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(inputs):
            raise EmbeddingError(
                f"embedding endpoint returned {len(data)} vectors for {len(inputs)} inputs",
                retryable=True,
            )
        vectors = [_normalise(item.embedding) for item in data]
        expected = self._dimensions
        if expected is not None and any(len(v) != expected for v in vectors):
            raise EmbeddingError(
                f"embedding endpoint returned {len(vectors[0])}-dimensional vectors; "
                f"{expected} are configured for {self.model}",
                retryable=False,
            )
        usage = response.usage
        # Some compatible servers omit usage or report 0; both mean "unknown".
        tokens = usage.prompt_tokens if usage is not None and usage.prompt_tokens else None
        return vectors, tokens

    def embed_documents(self, texts: Sequence[str]) -> EmbeddingBatch:
        items = list(texts)
        vectors: list[list[float]] = []
        tokens = 0
        estimated = False
        for start in range(0, len(items), self.batch_size):
            part = items[start : start + self.batch_size]
            part_vectors, part_tokens = self._request(part)
            vectors.extend(part_vectors)
            if part_tokens is None:
                estimated = True
                part_tokens = sum(estimate_tokens(text) for text in part)
            tokens += part_tokens
        if items and self._dimensions is None:
            self._dimensions = len(vectors[0])
        return EmbeddingBatch(vectors=vectors, tokens=tokens, estimated=estimated)

    def embed_query(self, text: str) -> list[float]:
        return self.query_cache.get_or_compute(text, lambda t: self._request([t])[0][0])

    def count_tokens(self, text: str) -> int:
        # No tokenizer for an arbitrary remote model is available offline; callers that
        # need exact counts use the usage the endpoint reports with each batch.
        return estimate_tokens(text)

    def close(self) -> None:
        self.client.close()
