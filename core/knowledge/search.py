"""Searching a chatbot's knowledge: hybrid (vector + keyword), vector or keyword."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from core.embeddings import Embedder
from core.tenancy import chatbots
from core.tenancy.scope import owned_by
from core.vectors import ScopedVectors, SearchMode, VectorStore
from tables.knowledge import Document

MAX_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Passage:
    text: str
    document_id: uuid.UUID
    filename: str
    ordinal: int
    score: float


async def search(
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    *,
    query: str,
    limit: int,
    mode: SearchMode,
    embedder: Embedder,
    store: VectorStore,
) -> list[Passage]:
    """Search one of the customer's chatbots (404 when it isn't theirs)."""
    bot = await chatbots.get(customer_id, chatbot_id)
    return await search_passages(
        customer_id, bot.id, query=query, limit=limit, mode=mode, embedder=embedder, store=store
    )


async def search_passages(
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    *,
    query: str,
    limit: int,
    mode: SearchMode,
    embedder: Embedder,
    store: VectorStore,
) -> list[Passage]:
    """`search` for a chatbot the caller has already checked (the chat engine has the row)."""
    vector = None if mode == "keyword" else await asyncio.to_thread(embedder.embed_query, query)
    hits = await asyncio.to_thread(
        ScopedVectors(store, customer_id).search,
        chatbot_id,
        query_text=query,
        vector=vector,
        limit=min(limit, MAX_LIMIT),
        mode=mode,
    )
    if not hits:
        return []
    # Filenames come from the DB, scoped again: a hit whose document is gone is dropped.
    rows = await Document.select(Document.id, Document.filename).where(
        owned_by(Document, customer_id), Document.id.is_in(list({h.document_id for h in hits}))
    )
    names = {row["id"]: row["filename"] for row in rows}
    return [
        Passage(hit.text, hit.document_id, names[hit.document_id], hit.ordinal, hit.score)
        for hit in hits
        if hit.document_id in names
    ]
