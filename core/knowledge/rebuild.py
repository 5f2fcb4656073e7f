"""Rebuilding the vector store from `DocumentChunk` rows, the source of truth.

Also how a platform moves from the embedded store to Weaviate: point WEAVIATE_URL at the
new store and rebuild. Operator work, so no usage is billed to customers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from core.knowledge.ingestion import Pipeline
from core.vectors import ChunkRecord, ScopedVectors
from tables.knowledge import Document, DocumentChunk, DocumentStatus


async def documents_to_rebuild(
    customer_id: uuid.UUID | None = None, chatbot_id: uuid.UUID | None = None
) -> list[Document]:
    query = Document.objects().where(Document.status == DocumentStatus.ready)
    if customer_id is not None:
        query = query.where(Document.customer == customer_id)
    if chatbot_id is not None:
        query = query.where(Document.chatbot == chatbot_id)
    return await query.order_by(Document.created_at)


async def rebuild_document(
    document: Document, pipeline: Pipeline, on_chunks: Callable[[int], None] = lambda _: None
) -> int:
    """Re-embed one document's stored chunks into the store; returns how many."""
    rows = (
        await DocumentChunk.select(DocumentChunk.ordinal, DocumentChunk.text)
        .where(DocumentChunk.document == document.id)
        .order_by(DocumentChunk.ordinal)
    )
    vectors = ScopedVectors(pipeline.store, document.customer)
    vectors.delete_document(document.id)
    for start in range(0, len(rows), pipeline.batch_size):
        batch = rows[start : start + pipeline.batch_size]
        embedded = pipeline.embedder.embed_documents([row["text"] for row in batch])
        vectors.upsert(
            [
                ChunkRecord(document.id, document.chatbot, row["ordinal"], row["text"], vector)
                for row, vector in zip(batch, embedded.vectors, strict=True)
            ]
        )
        on_chunks(len(batch))
    return len(rows)
