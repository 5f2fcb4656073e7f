"""The seed's manage_db commands: statistics, cleanup, recent users, one session."""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.conf.apps import Finder

from tables.chat import ChatMessage, ChatSession, EndUser


async def table_counts() -> dict[str, int]:
    """Rows per table of every registered app; empty when nothing is migrated yet."""
    counts: dict[str, int] = {}
    for table in Finder().get_table_classes():
        if await table.table_exists():
            counts[table._meta.tablename] = await table.count()
    return counts


async def recent_end_users(limit: int) -> list[dict[str, Any]]:
    return (
        await EndUser.select(
            EndUser.identifier, EndUser.identifier_kind, EndUser.last_login, EndUser.customer.name
        )
        .where(EndUser.last_login.is_not_null())
        .order_by(EndUser.last_login, ascending=False)
        .limit(limit)
    )


async def session_with_messages(
    session_id: uuid.UUID,
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    row = (
        await ChatSession.select(
            ChatSession.id,
            ChatSession.title,
            ChatSession.status,
            ChatSession.chatbot.name,
            ChatSession.end_user.identifier,
            ChatSession.external_user_id,
            ChatSession.created_at,
            ChatSession.last_activity,
        )
        .where(ChatSession.id == session_id)
        .first()
    )
    if row is None:
        return None
    messages = (
        await ChatMessage.select(ChatMessage.role, ChatMessage.content, ChatMessage.created_at)
        .where(ChatMessage.session == session_id)
        .order_by(ChatMessage.created_at)
    )
    return row, messages
