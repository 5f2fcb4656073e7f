"""A chatbot's documents (streamed upload, status, delete, reindex, cancel) and search."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from api.auth.middleware import CustomerAuthMiddleware
from api.deps import AppResources, Principal
from api.documents.schemas import DocumentOut, SearchRequest, SearchResult
from core.errors import PayloadTooLarge
from core.knowledge import documents
from core.knowledge.search import search
from tables.knowledge import Document
from workers import ingestion

MB = 1024 * 1024


async def _enqueue(document: Document) -> None:
    waiting = await documents.waiting_count(document.customer)
    await asyncio.to_thread(ingestion.enqueue, document.id, document.generation, waiting)


class DocumentController(Controller):
    path = "/api/v1/chatbots/{chatbot_id:str}"
    tags = ["documents"]
    middleware = [CustomerAuthMiddleware]

    @post("/documents", summary="Upload a document (multipart `file`)")
    async def upload(
        self,
        chatbot_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        principal: Principal,
        resources: AppResources,
    ) -> Response[DocumentOut]:
        """202 with the queued document; 200 with the existing one when this bot already
        has a document with the same content."""
        settings = resources.settings
        max_bytes = settings.max_upload_mb * MB
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes + MB:
            raise PayloadTooLarge(
                f"the file is larger than the {settings.max_upload_mb} MB limit", field="file"
            )
        result = await documents.upload(
            principal.customer_id,
            chatbot_id,
            content_type=request.headers.get("content-type", ""),
            body=request.stream(),
            uploads_dir=settings.uploads_dir,
            max_bytes=max_bytes,
        )
        if result.created:
            await _enqueue(result.document)
        status = HTTP_202_ACCEPTED if result.created else HTTP_200_OK
        return Response(DocumentOut.of(result.document), status_code=status)

    @get("/documents", summary="The bot's documents with their ingestion status")
    async def list_documents(
        self, chatbot_id: FromPath[uuid.UUID], principal: Principal
    ) -> list[DocumentOut]:
        return [
            DocumentOut.of(d) for d in await documents.list_for(principal.customer_id, chatbot_id)
        ]

    @get("/documents/{document_id:str}", summary="One document: status, progress, counts, error")
    async def get_document(
        self,
        chatbot_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
        principal: Principal,
    ) -> DocumentOut:
        return DocumentOut.of(await documents.get(principal.customer_id, chatbot_id, document_id))

    @delete("/documents/{document_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_document(
        self,
        chatbot_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
        principal: Principal,
        resources: AppResources,
    ) -> None:
        """Removes the file, its chunks and its vectors."""
        await documents.delete(
            principal.customer_id,
            chatbot_id,
            document_id,
            store=resources.vectors,
            uploads_dir=resources.settings.uploads_dir,
        )

    @post("/documents/{document_id:str}/reindex", status_code=HTTP_202_ACCEPTED)
    async def reindex_document(
        self,
        chatbot_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
        principal: Principal,
    ) -> DocumentOut:
        """Parse, chunk and embed the document again."""
        document = await documents.reindex(principal.customer_id, chatbot_id, document_id)
        await _enqueue(document)
        return DocumentOut.of(document)

    @post("/documents/{document_id:str}/cancel", status_code=HTTP_200_OK)
    async def cancel_document(
        self,
        chatbot_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
        principal: Principal,
    ) -> DocumentOut:
        """Stop a queued or running ingestion at its next batch."""
        return DocumentOut.of(
            await documents.cancel(principal.customer_id, chatbot_id, document_id)
        )

    @post("/search", status_code=HTTP_200_OK, summary="Search the bot's documents")
    async def search_documents(
        self,
        chatbot_id: FromPath[uuid.UUID],
        data: JSONBody[SearchRequest],
        principal: Principal,
        resources: AppResources,
    ) -> list[SearchResult]:
        passages = await search(
            principal.customer_id,
            chatbot_id,
            query=data.query,
            limit=data.limit,
            mode=data.mode,
            embedder=await resources.embedder(),
            store=resources.vectors,
        )
        return [SearchResult.of(p) for p in passages]
