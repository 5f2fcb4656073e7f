"""The embedding interface shared by every provider, and the small helpers they share."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class EmbeddingBatch:
    """Vectors for a batch of documents, in input order, each of unit length.

    ``tokens`` is what gets metered as a usage event; ``estimated`` says it was not
    reported by the provider (so billing can flag it, as the design asks).
    """

    vectors: list[list[float]]
    tokens: int
    estimated: bool = False


class EmbeddingError(RuntimeError):
    """A provider failed to embed.

    ``retryable`` tells a worker whether trying again later can help (timeouts, 429,
    5xx) or not (bad key, unknown model, wrong dimensions): the ingestion actor fails
    the document at once in the second case instead of burning its retries.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@runtime_checkable
class Embedder(Protocol):
    """What the rest of Botfleet knows about an embedding provider."""

    name: str  # e.g. "local:all-MiniLM-L6-v2" or "openai:text-embedding-3-small"
    dimensions: int

    def embed_documents(self, texts: Sequence[str]) -> EmbeddingBatch: ...

    def embed_query(self, text: str) -> list[float]: ...

    def count_tokens(self, text: str) -> int: ...


def normalise(vector: Sequence[float]) -> list[float]:
    """Scale to unit length so cosine similarity is a plain dot product in every store.

    A zero vector is returned unchanged: there is no direction to keep.
    """
    norm = math.sqrt(math.fsum(x * x for x in vector))
    if norm == 0.0:
        return [float(x) for x in vector]
    return [float(x) / norm for x in vector]


def estimate_tokens(text: str) -> int:
    """A provider-neutral token estimate (about four characters per token for English).

    Used only when a provider does not report usage; results built on it are flagged
    ``estimated=True``.
    """
    if not text:
        return 0
    return max(1, math.ceil(len(text) / 4))


@dataclass(frozen=True, slots=True)
class CacheInfo:
    hits: int
    misses: int
    size: int
    maxsize: int


class QueryCache:
    """A bounded, thread-safe LRU of query text → vector.

    Chat traffic repeats questions ("opening hours?") far more than documents repeat,
    so only queries are cached. Vectors are stored as tuples and handed out as fresh
    lists, so a caller that mutates its result cannot poison the cache. The compute
    step runs outside the lock: two threads that miss on the same text at once both
    compute it (harmless, same answer) rather than serialising every query.
    """

    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self._maxsize = maxsize
        self._data: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get_or_compute(self, key: str, compute: Callable[[str], list[float]]) -> list[float]:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
                self._hits += 1
                return list(found)
            self._misses += 1
        vector = compute(key)
        if self._maxsize:
            with self._lock:
                self._data[key] = tuple(vector)
                self._data.move_to_end(key)
                while len(self._data) > self._maxsize:
                    self._data.popitem(last=False)
        return list(vector)

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._data), self._maxsize)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._hits = 0
            self._misses = 0
