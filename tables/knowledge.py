"""Knowledge: uploaded documents and their chunks (the source of truth for the vector store)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from piccolo.columns import UUID, BigInt, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table

from tables.tenancy import Chatbot, Customer, utcnow


class DocumentStatus(StrEnum):
    queued = "queued"
    processing = "processing"
    ready = "ready"
    failed = "failed"
    cancelled = "cancelled"


class Document(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    customer = ForeignKey(
        Customer,
        on_delete=OnDelete.cascade,
        index=True,
        help_text="Owner (denormalised for scoping).",
    )
    chatbot = ForeignKey(
        Chatbot, on_delete=OnDelete.cascade, index=True, help_text="The bot it feeds."
    )
    filename = Varchar(length=255, help_text="Name as uploaded.")
    kind = Varchar(length=10, help_text="Sniffed type: txt, md, html, pdf, docx, csv, json.")
    content_type = Varchar(length=100, default="", help_text="Content type the client sent.")
    size = BigInt(default=0, help_text="Bytes.")
    sha256 = Varchar(length=64, index=True, help_text="Content hash.")
    dedupe_key = Varchar(
        length=120, unique=True, help_text="chatbot:sha256 - one document per content and bot."
    )
    path = Varchar(length=1024, help_text="File under the data directory's uploads/.")
    status = Varchar(length=20, choices=DocumentStatus, default=DocumentStatus.queued, index=True)
    error = Text(default="", help_text="Why ingestion failed, in the customer's words.")
    progress = Integer(default=0, help_text="0-100.")
    chunk_count = Integer(default=0)
    token_count = Integer(default=0)
    generation = Integer(default=0, help_text="Bumped by every reindex; keys usage events.")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), auto_update=utcnow)
    ingested_at = Timestamptz(null=True, default=None)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.filename])


class DocumentChunk(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    document = ForeignKey(Document, on_delete=OnDelete.cascade, index=True)
    ordinal = Integer(help_text="Position in the document, from 0.")
    text = Text()
    token_count = Integer(default=0)
