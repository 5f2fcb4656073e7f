from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.schemas import Input, Output
from core.knowledge.search import MAX_LIMIT, Passage
from tables.knowledge import Document, DocumentStatus


class DocumentOut(Output):
    id: uuid.UUID
    chatbot_id: uuid.UUID
    filename: str
    kind: str
    content_type: str
    size: int
    sha256: str
    status: str
    progress: int
    chunk_count: int
    token_count: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    ingested_at: datetime | None

    @classmethod
    def of(cls, doc: Document) -> DocumentOut:
        return cls(
            id=doc.id,
            chatbot_id=doc.chatbot,
            filename=doc.filename,
            kind=doc.kind,
            content_type=doc.content_type,
            size=doc.size,
            sha256=doc.sha256,
            status=str(doc.status),
            progress=doc.progress,
            chunk_count=doc.chunk_count,
            token_count=doc.token_count,
            error=doc.error if doc.status == DocumentStatus.failed else None,
            created_at=doc.created_at,
            updated_at=doc.updated_at,
            ingested_at=doc.ingested_at,
        )


class SearchRequest(Input):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)] = 5
    mode: Literal["hybrid", "vector", "keyword"] = "hybrid"


class SearchResult(Output):
    text: str
    document_id: uuid.UUID
    filename: str
    ordinal: int
    score: float

    @classmethod
    def of(cls, passage: Passage) -> SearchResult:
        return cls(
            text=passage.text,
            document_id=passage.document_id,
            filename=passage.filename,
            ordinal=passage.ordinal,
            score=round(passage.score, 6),
        )
