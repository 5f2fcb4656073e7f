"""The one way the app reaches a vector store: a view pinned to one customer.

Code handling a request or a job builds ``ScopedVectors(store, customer_id)`` from the
customer it has authenticated or loaded, and can then only touch that customer's chunks
(convention 4). The process-wide store's lifecycle (``ping``/``close``) is deliberately
not exposed here: it belongs to whoever opened the store at start-up (convention 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from core.vectors.base import (
    ChunkRecord,
    SearchHit,
    SearchMode,
    VectorStore,
    check_customer,
)


class ScopedVectors:
    """The VectorStore methods without the customer argument: it is fixed at creation."""

    __slots__ = ("_customer_id", "_store")

    def __init__(self, store: VectorStore, customer_id: UUID) -> None:
        self._store = store
        self._customer_id = check_customer(customer_id)

    @property
    def customer_id(self) -> UUID:
        return self._customer_id

    @property
    def dimensions(self) -> int:
        return self._store.dimensions

    def upsert(self, chunks: Sequence[ChunkRecord]) -> None:
        self._store.upsert(self._customer_id, chunks)

    def delete_document(self, document_id: UUID) -> int:
        return self._store.delete_document(self._customer_id, document_id)

    def delete_chatbot(self, chatbot_id: UUID) -> int:
        return self._store.delete_chatbot(self._customer_id, chatbot_id)

    def search(
        self,
        chatbot_id: UUID,
        *,
        query_text: str,
        vector: Sequence[float] | None,
        limit: int = 5,
        mode: SearchMode = "hybrid",
        alpha: float = 0.5,
    ) -> list[SearchHit]:
        return self._store.search(
            self._customer_id,
            chatbot_id,
            query_text=query_text,
            vector=vector,
            limit=limit,
            mode=mode,
            alpha=alpha,
        )

    def count(self, chatbot_id: UUID | None = None) -> int:
        return self._store.count(self._customer_id, chatbot_id)

    def __repr__(self) -> str:
        return f"ScopedVectors({type(self._store).__name__}, customer={self._customer_id})"
