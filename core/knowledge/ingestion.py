"""Ingesting one document: parse, chunk, store chunks, embed in batches, upsert vectors.

Idempotent and crash-safe: chunk ids are derived from (document, ordinal) and chunking is
deterministic, so a re-run replaces exactly what an interrupted run wrote; the vectors of
an earlier attempt are cleared before the first batch; the usage event is keyed by the
document's generation and written in the transaction that marks the document ready.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.billing import usage
from core.database import write_transaction
from core.embeddings import Embedder
from core.ingest import Chunk, ParseError, chunk, parse
from core.knowledge.documents import file_path
from core.vectors import ChunkRecord, ScopedVectors, VectorStore
from tables.billing import UsageKind
from tables.knowledge import Document, DocumentChunk, DocumentStatus

logger = logging.getLogger("botfleet.ingest")
BATCH_SIZE = 64
CHUNK_TOKENS = 256
CHUNK_OVERLAP = 32
FAILED_UNREADABLE = "The file could not be read: {reason}"


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What ingestion needs from the process: built once per worker."""

    embedder: Embedder
    store: VectorStore
    uploads_dir: Path
    tokenizer: object  # a tokenizers.Tokenizer, counting like the embedder
    batch_size: int = BATCH_SIZE


def chunk_id(document_id: uuid.UUID, ordinal: int) -> uuid.UUID:
    return uuid.uuid5(document_id, str(ordinal))


async def _current(document_id: uuid.UUID, generation: int) -> Document | None:
    """The document if this run is still the one wanted (not deleted, cancelled, reindexed)."""
    document = await Document.objects().where(Document.id == document_id).first()
    if document is None or document.generation != generation:
        return None
    if document.status not in (DocumentStatus.queued, DocumentStatus.processing):
        return None
    return document


async def _update(document_id: uuid.UUID, generation: int, **values: object) -> None:
    await Document.update({getattr(Document, k): v for k, v in values.items()}).where(
        Document.id == document_id, Document.generation == generation
    )


async def ingest(
    document_id: uuid.UUID, generation: int, pipeline: Pipeline
) -> DocumentStatus | None:
    """Run one ingestion; returns the final status, or None when there was nothing to do."""
    document = await _current(document_id, generation)
    if document is None:
        return None
    await _update(document_id, generation, status=DocumentStatus.processing, progress=0, error="")
    try:
        text = parse(file_path(pipeline.uploads_dir, document), document.kind)
    except ParseError as exc:
        await _update(document_id, generation, status=DocumentStatus.failed, error=str(exc))
        return DocumentStatus.failed
    except FileNotFoundError:
        await _update(
            document_id,
            generation,
            status=DocumentStatus.failed,
            error="The uploaded file is gone; upload it again.",
        )
        return DocumentStatus.failed
    chunks = chunk(text, pipeline.tokenizer, CHUNK_TOKENS, CHUNK_OVERLAP, kind=document.kind)  # type: ignore[arg-type]
    if not chunks:
        await _update(
            document_id,
            generation,
            status=DocumentStatus.failed,
            error="The document contains no text to learn from.",
        )
        return DocumentStatus.failed
    await _store_chunks(document.id, chunks)
    vectors = ScopedVectors(pipeline.store, document.customer)
    vectors.delete_document(document.id)  # whatever an interrupted attempt left behind
    tokens, estimated = 0, False
    for start in range(0, len(chunks), pipeline.batch_size):
        if await _current(document_id, generation) is None:
            return await _abandon(document_id, vectors)
        batch = chunks[start : start + pipeline.batch_size]
        embedded = pipeline.embedder.embed_documents([piece.text for piece in batch])
        vectors.upsert(
            [
                ChunkRecord(document.id, document.chatbot, piece.ordinal, piece.text, vector)
                for piece, vector in zip(batch, embedded.vectors, strict=True)
            ]
        )
        tokens += embedded.tokens
        estimated = estimated or embedded.estimated
        done = start + len(batch)
        await _update(document_id, generation, progress=min(99, done * 100 // len(chunks)))
    if await _current(document_id, generation) is None:
        return await _abandon(document_id, vectors)
    async with write_transaction():
        await usage.record(
            idempotency_key=f"embedding:{document.id}:{generation}",
            customer_id=document.customer,
            chatbot_id=document.chatbot,
            kind=UsageKind.embedding,
            model=pipeline.embedder.name,
            input_tokens=tokens,
            estimated=estimated,
        )
        await _update(
            document_id,
            generation,
            status=DocumentStatus.ready,
            progress=100,
            chunk_count=len(chunks),
            token_count=sum(piece.token_count for piece in chunks),
            ingested_at=datetime.now(UTC),
        )
    return DocumentStatus.ready


async def _store_chunks(document_id: uuid.UUID, chunks: Sequence[Chunk]) -> None:
    """Replace the document's chunks in one transaction (the rebuildable source of truth)."""
    rows = [
        DocumentChunk(
            id=chunk_id(document_id, piece.ordinal),
            document=document_id,
            ordinal=piece.ordinal,
            text=piece.text,
            token_count=piece.token_count,
        )
        for piece in chunks
    ]
    async with write_transaction():
        await DocumentChunk.delete().where(DocumentChunk.document == document_id)
        for start in range(0, len(rows), 500):
            await DocumentChunk.insert(*rows[start : start + 500])


async def _abandon(document_id: uuid.UUID, vectors: ScopedVectors) -> None:
    """Deleted or cancelled: clear what this run wrote. Reindexed: the newer run owns it."""
    document = await Document.objects().where(Document.id == document_id).first()
    if document is None or document.status == DocumentStatus.cancelled:
        await DocumentChunk.delete().where(DocumentChunk.document == document_id)
        vectors.delete_document(document_id)
    logger.info("ingestion of %s stopped: deleted, cancelled or superseded", document_id)


async def mark_failed(document_id: uuid.UUID, generation: int, reason: str) -> None:
    await _update(document_id, generation, status=DocumentStatus.failed, error=reason)
