"""Chat sessions: who may reach which session, and the persisted sessions' management.

A caller is anonymous (sessions in Redis), a signed-in end user, a user the customer's
backend names (`user_id`), or a customer user testing the bot; the last three have
sessions in the database. A session is only ever visible to the caller it belongs to:
anyone else gets 404, as if it didn't exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.chat.anonymous import AnonymousSession, AnonymousSessions
from core.chat.messages import StoredMessage
from core.errors import InvalidInput, NotFound
from core.tenancy.scope import owned_by, register
from tables.chat import ChatMessage, ChatSession, SessionStatus

register(ChatSession, ChatSession.customer, live=ChatSession.chatbot.deleted_at.is_null())

HISTORY_TURNS = 20
STAFF_PREFIX = "staff:"  # external ids of customer users chatting with their own bot


@dataclass(frozen=True, slots=True)
class Caller:
    customer_id: uuid.UUID
    chatbot_id: uuid.UUID
    end_user_id: uuid.UUID | None = None
    external_user_id: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.end_user_id is None and self.external_user_id is None

    @property
    def rate_key(self) -> str | None:
        """Who counts as one end user for rate limits (None: anonymous, by session)."""
        if self.end_user_id is not None:
            return f"end-user:{self.end_user_id}"
        if self.external_user_id is not None:
            return f"external:{self.chatbot_id}:{self.external_user_id}"
        return None


@dataclass(frozen=True, slots=True)
class Conversation:
    """An open session: where its messages live and what was said so far.

    A new persisted session is only saved with its first answer (`unsaved`), in the same
    transaction: one write per turn, and no empty sessions when the LLM fails.
    """

    id: uuid.UUID
    anonymous: bool
    created: bool
    history: list[StoredMessage]
    unsaved: ChatSession | None = None


def _not_found(session_id: uuid.UUID) -> NotFound:
    return NotFound(f"session {session_id} not found", field="session_id")


def _belongs_to(session: ChatSession, caller: Caller) -> bool:
    if session.chatbot != caller.chatbot_id or session.status == SessionStatus.deleted:
        return False
    if caller.end_user_id is not None:
        return session.end_user == caller.end_user_id
    return session.end_user is None and session.external_user_id == caller.external_user_id


async def find_persisted(caller: Caller, session_id: uuid.UUID) -> ChatSession:
    session = (
        await ChatSession.objects()
        .where(ChatSession.id == session_id, owned_by(ChatSession, caller.customer_id))
        .first()
    )
    if session is None or not _belongs_to(session, caller):
        raise _not_found(session_id)
    return session


async def _persisted_history(session_id: uuid.UUID) -> list[StoredMessage]:
    rows = (
        await ChatMessage.select()
        .output(load_json=True)
        .where(ChatMessage.session == session_id)
        .order_by(ChatMessage.created_at, ascending=False)
        .limit(HISTORY_TURNS)
    )
    return [StoredMessage.of(row) for row in reversed(rows)]


async def open_conversation(
    caller: Caller, session_id: uuid.UUID | None, anonymous_store: AnonymousSessions
) -> Conversation:
    if caller.anonymous:
        found: AnonymousSession | None = None
        if session_id is not None:
            found = await anonymous_store.get(session_id)
            if found is None or found.chatbot_id != caller.chatbot_id:
                raise _not_found(session_id)
            history = await anonymous_store.history(found.id, HISTORY_TURNS)
            return Conversation(found.id, anonymous=True, created=False, history=history)
        found = await anonymous_store.create(caller.customer_id, caller.chatbot_id)
        return Conversation(found.id, anonymous=True, created=True, history=[])
    if session_id is not None:
        session = await find_persisted(caller, session_id)
        return Conversation(session.id, False, False, await _persisted_history(session.id))
    session = ChatSession(
        customer=caller.customer_id,
        chatbot=caller.chatbot_id,
        end_user=caller.end_user_id,
        external_user_id=caller.external_user_id,
    )
    return Conversation(session.id, anonymous=False, created=True, history=[], unsaved=session)


async def append_persisted(
    conversation: Conversation, messages: list[StoredMessage], title: str
) -> None:
    """Inside the caller's transaction: the session if new, the messages, the activity time."""
    now = datetime.now(UTC)
    if conversation.unsaved is not None:
        conversation.unsaved.title = title[:80]
        conversation.unsaved.last_activity = now
        await conversation.unsaved.save()
    else:
        await ChatSession.update({ChatSession.last_activity: now}).where(
            ChatSession.id == conversation.id
        )
    await ChatMessage.insert(*(message.row(conversation.id) for message in messages))


# --- managing persisted sessions (signed-in end users and customers) ---


def _scope_query(customer_id: uuid.UUID, chatbot_id: uuid.UUID, caller: Caller | None) -> list[Any]:
    clauses = [owned_by(ChatSession, customer_id), ChatSession.chatbot == chatbot_id]
    if caller is not None:  # an end user sees only their own; the customer sees all
        if caller.end_user_id is not None:
            clauses.append(ChatSession.end_user == caller.end_user_id)
        else:
            clauses.append(ChatSession.external_user_id == caller.external_user_id)
    return clauses


async def list_sessions(
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    *,
    caller: Caller | None,
    status: SessionStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[ChatSession], int]:
    clauses = _scope_query(customer_id, chatbot_id, caller)
    if status is not None:
        clauses.append(ChatSession.status == status)
    else:
        clauses.append(ChatSession.status != SessionStatus.deleted)
    total = await ChatSession.count().where(*clauses)
    rows = (
        await ChatSession.objects()
        .where(*clauses)
        .order_by(ChatSession.pinned, ascending=False)
        .order_by(ChatSession.last_activity, ascending=False)
        .limit(limit)
        .offset(offset)
    )
    return rows, total


async def get_session(
    customer_id: uuid.UUID, chatbot_id: uuid.UUID, session_id: uuid.UUID, caller: Caller | None
) -> ChatSession:
    session = (
        await ChatSession.objects()
        .where(ChatSession.id == session_id, *_scope_query(customer_id, chatbot_id, caller))
        .first()
    )
    if session is None or session.status == SessionStatus.deleted:
        raise _not_found(session_id)
    return session


async def update_session(
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    session_id: uuid.UUID,
    caller: Caller | None,
    changes: dict[str, Any],
) -> ChatSession:
    session = await get_session(customer_id, chatbot_id, session_id, caller)
    if changes.get("status") == SessionStatus.deleted:
        raise InvalidInput("use DELETE to delete a session", field="status")
    for name, value in changes.items():
        setattr(session, name, value)
    await session.save()
    return session


async def delete_session(
    customer_id: uuid.UUID, chatbot_id: uuid.UUID, session_id: uuid.UUID, caller: Caller | None
) -> None:
    session = await get_session(customer_id, chatbot_id, session_id, caller)
    await ChatSession.delete().where(ChatSession.id == session.id)  # messages cascade


async def messages_page(
    session_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[StoredMessage], int]:
    total = await ChatMessage.count().where(ChatMessage.session == session_id)
    rows = (
        await ChatMessage.select()
        .output(load_json=True)
        .where(ChatMessage.session == session_id)
        .order_by(ChatMessage.created_at)
        .limit(limit)
        .offset(offset)
    )
    return [StoredMessage.of(row) for row in rows], total
