"""Where an end user's chat session lives, and moving an anonymous one to its owner.

A session is in Redis while anonymous ("memory") and in the database once someone signed
in ("database"); `AnonymousSessions.claim` moves it keeping its id. Sessions of another
chatbot are treated as missing, as everywhere else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from core.chat.anonymous import AnonymousSession, AnonymousSessions
from core.database import is_unique_violation
from core.errors import NotFound
from core.tenancy.scope import owned_by
from tables.chat import ChatSession, SessionStatus

Storage = Literal["memory", "database"]


@dataclass(frozen=True, slots=True)
class SessionState:
    session_id: uuid.UUID
    storage: Storage
    end_user_id: uuid.UUID | None

    @property
    def authenticated(self) -> bool:
        return self.end_user_id is not None


def _not_found(session_id: uuid.UUID) -> NotFound:
    return NotFound(f"session {session_id} not found", field="session_id")


async def _anonymous(
    sessions: AnonymousSessions, chatbot_id: uuid.UUID, session_id: uuid.UUID
) -> AnonymousSession | None:
    session = await sessions.get(session_id)
    return session if session is not None and session.chatbot_id == chatbot_id else None


async def _persisted(
    customer_id: uuid.UUID, chatbot_id: uuid.UUID, session_id: uuid.UUID, *columns: Any
) -> dict[str, Any] | None:
    """The live persisted session's `columns`, through the one scoping path."""
    return (
        await ChatSession.select(*columns)
        .where(
            ChatSession.id == session_id,
            owned_by(ChatSession, customer_id),
            ChatSession.chatbot == chatbot_id,
            ChatSession.status != SessionStatus.deleted,
        )
        .first()
    )


async def state(
    sessions: AnonymousSessions,
    *,
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    session_id: uuid.UUID,
) -> SessionState:
    # The database first: right after a claim the row exists and Redis is being emptied.
    row = await _persisted(customer_id, chatbot_id, session_id, ChatSession.end_user)
    if row is not None:
        return SessionState(session_id, "database", row["end_user"])
    if await _anonymous(sessions, chatbot_id, session_id) is not None:
        return SessionState(session_id, "memory", None)
    raise _not_found(session_id)


async def ensure_claimable(
    sessions: AnonymousSessions,
    *,
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    session_id: uuid.UUID,
    identity_key: str,
) -> None:
    """Checked before a code or password is spent, so a bad session_id costs nothing.

    Claimable: an anonymous session of this chatbot, or one this same person already owns
    (a repeated sign-in). Anyone else's persisted session is "not found".
    """
    if await _anonymous(sessions, chatbot_id, session_id) is not None:
        return
    row = await _persisted(customer_id, chatbot_id, session_id, ChatSession.end_user.identity_key)
    if row is None or row["end_user.identity_key"] != identity_key:
        raise _not_found(session_id)


async def claim(
    sessions: AnonymousSessions,
    *,
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    session_id: uuid.UUID,
    end_user_id: uuid.UUID,
) -> uuid.UUID | None:
    """Move the session to the database for this end user; its id if it is now theirs."""
    if await _anonymous(sessions, chatbot_id, session_id) is not None:
        try:
            await sessions.claim(session_id, end_user_id)
        except Exception as exc:
            # Two sign-ins claiming one session at once: the loser's insert hits the
            # primary key. Whoever won, the row below says whose it is now.
            if not is_unique_violation(exc):
                raise
    row = await _persisted(customer_id, chatbot_id, session_id, ChatSession.end_user)
    return session_id if row is not None and row["end_user"] == end_user_id else None
