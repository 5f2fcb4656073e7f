"""A chatbot's documents: upload (streamed, sniffed, de-duplicated), list, delete, reindex."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from core.database import is_unique_violation
from core.errors import Conflict, InvalidInput, NotFound, UnsupportedMediaType
from core.ingest import SNIFF_BYTES, EmptyFile, UnsupportedType, sniff_type
from core.knowledge.multipart import receive_file
from core.tenancy import chatbots
from core.tenancy.scope import get_owned, owned_by, register
from core.vectors import ScopedVectors, VectorStore
from tables.knowledge import Document, DocumentStatus

register(Document, Document.customer, live=Document.chatbot.deleted_at.is_null())

CANCELLABLE = (DocumentStatus.queued, DocumentStatus.processing)


@dataclass(frozen=True, slots=True)
class Upload:
    document: Document
    created: bool  # False: the same content was already uploaded to this bot


def file_path(uploads_dir: Path, document: Document) -> Path:
    return uploads_dir / document.path


async def upload(
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    *,
    content_type: str,
    body: AsyncIterator[bytes],
    uploads_dir: Path,
    max_bytes: int,
) -> Upload:
    bot = await chatbots.get(customer_id, chatbot_id)
    folder = uploads_dir / str(customer_id) / str(bot.id)
    folder.mkdir(parents=True, exist_ok=True)
    incoming = folder / f".incoming-{uuid.uuid4().hex}"
    try:
        with incoming.open("wb") as target:
            received = await receive_file(
                content_type=content_type,
                body=body,
                target=target,
                max_bytes=max_bytes,
                head_bytes=SNIFF_BYTES,
            )
        try:
            kind = sniff_type(received.head, received.filename, path=incoming)
        except EmptyFile as exc:
            raise InvalidInput(str(exc), field="file") from None
        except UnsupportedType as exc:
            raise UnsupportedMediaType(str(exc), field="file") from None
        dedupe_key = f"{bot.id}:{received.sha256}"
        existing = await Document.objects().where(Document.dedupe_key == dedupe_key).first()
        if existing is not None:
            return Upload(existing, created=False)
        document = Document(
            customer=customer_id,
            chatbot=bot.id,
            filename=received.filename,
            kind=kind,
            content_type=received.content_type,
            size=received.size,
            sha256=received.sha256,
            dedupe_key=dedupe_key,
        )
        document.path = f"{customer_id}/{bot.id}/{document.id}.{kind}"
        incoming.rename(file_path(uploads_dir, document))
        try:
            await document.save()
        except Exception as exc:
            file_path(uploads_dir, document).unlink(missing_ok=True)
            if is_unique_violation(exc):  # the same file, uploaded twice at once
                same = await Document.objects().where(Document.dedupe_key == dedupe_key).first()
                if same is not None:
                    return Upload(same, created=False)
            raise
        return Upload(document, created=True)
    finally:
        incoming.unlink(missing_ok=True)


async def list_for(customer_id: uuid.UUID, chatbot_id: uuid.UUID) -> list[Document]:
    bot = await chatbots.get(customer_id, chatbot_id)
    return (
        await Document.objects()
        .where(owned_by(Document, customer_id), Document.chatbot == bot.id)
        .order_by(Document.created_at)
    )


async def get(customer_id: uuid.UUID, chatbot_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    document = await get_owned(Document, customer_id, document_id, name="document")
    if document.chatbot != chatbot_id:
        raise NotFound(f"document {document_id} not found")
    return document


async def delete(
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    store: VectorStore,
    uploads_dir: Path,
) -> None:
    """Removes the file, the chunks (cascade) and the vectors. A running ingestion notices at
    its next batch and cleans up after itself."""
    document = await get(customer_id, chatbot_id, document_id)
    await Document.delete().where(Document.id == document.id)
    ScopedVectors(store, customer_id).delete_document(document.id)
    with contextlib.suppress(FileNotFoundError):
        file_path(uploads_dir, document).unlink()


async def reindex(
    customer_id: uuid.UUID, chatbot_id: uuid.UUID, document_id: uuid.UUID
) -> Document:
    """Queue a fresh ingestion; a run still going for the old generation stops at its next batch."""
    document = await get(customer_id, chatbot_id, document_id)
    document.generation += 1
    document.status = DocumentStatus.queued
    document.progress = 0
    document.error = ""
    await document.save([Document.generation, Document.status, Document.progress, Document.error])
    return document


async def cancel(customer_id: uuid.UUID, chatbot_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    document = await get(customer_id, chatbot_id, document_id)
    updated = (
        await Document.update({Document.status: DocumentStatus.cancelled})
        .where(Document.id == document.id, Document.status.is_in(list(CANCELLABLE)))
        .returning(Document.id)
    )
    if not updated:
        raise Conflict(
            f"only a queued or running ingestion can be cancelled; this one is {document.status}"
        )
    return await get(customer_id, chatbot_id, document_id)


async def waiting_count(customer_id: uuid.UUID) -> int:
    return await Document.count().where(
        Document.customer == customer_id, Document.status == DocumentStatus.queued
    )
