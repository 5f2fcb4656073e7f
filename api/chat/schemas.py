from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.schemas import Input, Output, Patch
from core.chat.engine import Answer
from core.chat.messages import StoredMessage
from core.knowledge.search import Passage
from tables.chat import ChatSession

Message = Annotated[str, msgspec.Meta(min_length=1, max_length=8_000)]
UserId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ChatIn(Input):
    message: Message
    session_id: uuid.UUID | None = None
    user_id: UserId | None = None
    provider: Annotated[str, msgspec.Meta(min_length=1, max_length=50)] | None = None
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=32_000)] | None = None


class CitationOut(Output):
    document_id: uuid.UUID
    filename: str
    ordinal: int
    text: str
    score: float

    @classmethod
    def of(cls, passage: Passage) -> CitationOut:
        return cls(
            passage.document_id,
            passage.filename,
            passage.ordinal,
            passage.text,
            round(passage.score, 6),
        )


class UsageOut(Output):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    estimated: bool = False


class ChatOut(Output):
    reply: str
    session_id: uuid.UUID
    message_id: uuid.UUID
    citations: list[CitationOut]
    usage: UsageOut
    model: str
    provider: str

    @classmethod
    def of(cls, answer: Answer) -> ChatOut:
        usage = answer.usage
        return cls(
            reply=answer.reply,
            session_id=answer.session_id,
            message_id=answer.message_id,
            citations=[CitationOut.of(p) for p in answer.citations],
            usage=UsageOut(
                usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, usage.estimated
            ),
            model=answer.model,
            provider=answer.provider,
        )


class MessageOut(Output):
    id: uuid.UUID
    role: str
    content: str
    model: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    citations: list[dict[str, object]]
    created_at: datetime

    @classmethod
    def of(cls, message: StoredMessage) -> MessageOut:
        return cls(
            id=message.id,
            role=str(message.role),
            content=message.content,
            model=message.model,
            provider=message.provider,
            prompt_tokens=message.prompt_tokens,
            completion_tokens=message.completion_tokens,
            citations=message.citations,
            created_at=message.created_at,
        )


class MessagePage(Output):
    items: list[MessageOut]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, messages: list[StoredMessage], total: int, limit: int, offset: int) -> MessagePage:
        return cls([MessageOut.of(m) for m in messages], total, limit, offset)


class SessionOut(Output):
    id: uuid.UUID
    chatbot_id: uuid.UUID
    title: str
    status: str
    pinned: bool
    end_user_id: uuid.UUID | None
    user_id: str | None
    created_at: datetime
    last_activity: datetime

    @classmethod
    def of(cls, session: ChatSession) -> SessionOut:
        return cls(
            id=session.id,
            chatbot_id=session.chatbot,
            title=session.title,
            status=str(session.status),
            pinned=session.pinned,
            end_user_id=session.end_user,
            user_id=session.external_user_id,
            created_at=session.created_at,
            last_activity=session.last_activity,
        )


class SessionPage(Output):
    items: list[SessionOut]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, sessions: list[ChatSession], total: int, limit: int, offset: int) -> SessionPage:
        return cls([SessionOut.of(s) for s in sessions], total, limit, offset)


class SessionUpdate(Patch):
    title: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    status: Literal["active", "archived"] | msgspec.UnsetType = msgspec.UNSET
    pinned: bool | msgspec.UnsetType = msgspec.UNSET
