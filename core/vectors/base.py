"""The vector-store interface every backend implements, and the helpers they share.

Scores are "higher is better" in every mode, but their scale depends on the mode and
the backend, so compare them only within one result list:

- ``vector``: cosine similarity of the query and the chunk, in [-1, 1].
- ``keyword``: the BM25 relevance (embedded: FTS5's ``bm25()`` negated; Weaviate: its
  BM25 score), >= 0.
- ``hybrid``: the fused score (embedded: weighted reciprocal-rank fusion, small positive
  numbers; Weaviate: relative-score fusion in [0, 1]).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args, runtime_checkable
from uuid import UUID

import numpy as np
import numpy.typing as npt

SearchMode = Literal["hybrid", "vector", "keyword"]
SEARCH_MODES: frozenset[str] = frozenset(get_args(SearchMode))

# Bounds on what one search may ask for: the API validates user input, these guard the
# store against a caller bug turning into a huge scan.
MAX_LIMIT = 200
# Words kept from a keyword query; a pasted page of text shouldn't become a 5000-term OR.
MAX_QUERY_TERMS = 64
# The usual reciprocal-rank-fusion constant (Cormack et al.): damps the head of each list.
RRF_K = 60


class VectorStoreError(RuntimeError):
    """Anything that goes wrong in a vector store: unreachable, bad vector, bad file."""


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One chunk of a document with its embedding; (document_id, ordinal) identifies it."""

    document_id: UUID
    chatbot_id: UUID
    ordinal: int
    text: str
    vector: Sequence[float]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result; ``score`` is higher-is-better (see the module docstring)."""

    document_id: UUID
    chatbot_id: UUID
    ordinal: int
    text: str
    score: float


@runtime_checkable
class VectorStore(Protocol):
    """A multi-tenant chunk index; every call names the customer it acts for.

    The rest of the app never holds one of these directly for a request: it goes through
    ``ScopedVectors`` (core.vectors.scoped), which pins the customer.
    """

    dimensions: int

    def upsert(self, customer_id: UUID, chunks: Sequence[ChunkRecord]) -> None:
        """Insert or replace chunks; the same (document, ordinal) replaces the old one."""
        ...

    def delete_document(self, customer_id: UUID, document_id: UUID) -> int:
        """Remove every chunk of a document; returns how many were removed."""
        ...

    def delete_chatbot(self, customer_id: UUID, chatbot_id: UUID) -> int:
        """Remove every chunk of a chatbot; returns how many were removed."""
        ...

    def search(
        self,
        customer_id: UUID,
        chatbot_id: UUID,
        *,
        query_text: str,
        vector: Sequence[float] | None,
        limit: int = 5,
        mode: SearchMode = "hybrid",
        alpha: float = 0.5,
    ) -> list[SearchHit]:
        """Best chunks of one chatbot, best first; ``alpha`` is the vector weight (hybrid)."""
        ...

    def count(self, customer_id: UUID, chatbot_id: UUID | None = None) -> int:
        """Chunks held for a customer, or for one of its chatbots."""
        ...

    def ping(self) -> None:
        """Raise VectorStoreError when the store can't be reached."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


def check_customer(customer_id: UUID) -> UUID:
    # A str would "work" in SQL and silently never match, so insist on the type.
    if not isinstance(customer_id, UUID):
        raise VectorStoreError(f"customer_id must be a UUID, not {type(customer_id).__name__}")
    return customer_id


def as_matrix(vectors: Iterable[Sequence[float]], dimensions: int) -> npt.NDArray[np.float32]:
    """Stack vectors into a float32 matrix of unit rows, or raise VectorStoreError.

    Rows are normalised here so that a dot product is the cosine similarity, whatever
    the embedder returned.
    """
    try:
        matrix = np.asarray([np.asarray(v, dtype=np.float32) for v in vectors], dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise VectorStoreError(f"vectors must be sequences of numbers: {exc}") from exc
    if matrix.size == 0:
        return np.zeros((0, dimensions), dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != dimensions:
        got = matrix.shape[1] if matrix.ndim == 2 else "ragged"
        raise VectorStoreError(
            f"vector has {got} dimensions, the store holds {dimensions}-dimension vectors"
        )
    if not np.isfinite(matrix).all():
        raise VectorStoreError("vector contains NaN or infinity")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms == 0).any():
        raise VectorStoreError("zero vector: cosine similarity is undefined for it")
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def as_query_vector(vector: Sequence[float], dimensions: int) -> npt.NDArray[np.float32]:
    return as_matrix([vector], dimensions)[0]


def check_search_args(mode: str, limit: int, alpha: float) -> None:
    if mode not in SEARCH_MODES:
        raise VectorStoreError(f"unknown search mode {mode!r}; use one of {sorted(SEARCH_MODES)}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise VectorStoreError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    if not (isinstance(alpha, int | float) and math.isfinite(alpha) and 0 <= alpha <= 1):
        raise VectorStoreError(f"alpha must be between 0 and 1, got {alpha!r}")


def check_chunks(chunks: Sequence[ChunkRecord]) -> None:
    for chunk in chunks:
        if not isinstance(chunk.document_id, UUID) or not isinstance(chunk.chatbot_id, UUID):
            raise VectorStoreError("chunk document_id and chatbot_id must be UUIDs")
        if isinstance(chunk.ordinal, bool) or not isinstance(chunk.ordinal, int):
            raise VectorStoreError(f"chunk ordinal must be an int, got {chunk.ordinal!r}")
        if chunk.ordinal < 0:
            raise VectorStoreError(f"chunk ordinal must be >= 0, got {chunk.ordinal}")
        if not isinstance(chunk.text, str):
            raise VectorStoreError("chunk text must be a str")


# Letters and digits only: everything else (quotes, *, ^, :, parentheses, emoji, the
# underscore) is either FTS5 syntax or not part of a word to any tokenizer we use.
_TERM = re.compile(r"[^\W_]+")


def keyword_terms(text: str) -> list[str]:
    """The distinct lower-cased words of a user query, in order, at most MAX_QUERY_TERMS."""
    seen: dict[str, None] = {}
    for match in _TERM.finditer(text or ""):
        seen.setdefault(match.group().lower(), None)
        if len(seen) >= MAX_QUERY_TERMS:
            break
    return list(seen)


def rrf_fuse(
    vector_ranked: Sequence[int], keyword_ranked: Sequence[int], alpha: float
) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion of two ranked id lists, best first.

    score(id) = alpha / (RRF_K + vector_rank) + (1 - alpha) / (RRF_K + keyword_rank), with
    1-based ranks and a missing list contributing nothing. Ties keep the vector order,
    then the keyword order, so results are deterministic.
    """
    scores: dict[int, float] = {}
    for rank, item in enumerate(vector_ranked, start=1):
        scores[item] = scores.get(item, 0.0) + alpha / (RRF_K + rank)
    for rank, item in enumerate(keyword_ranked, start=1):
        scores[item] = scores.get(item, 0.0) + (1 - alpha) / (RRF_K + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
