"""Anonymous sessions live in Redis with a TTL (the Lotus seed's "in-memory for anonymous").

When the end user signs in, `claim` moves the session and its whole history into the
database in one transaction, keeping the session id; Redis forgets it afterwards.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from core.chat.messages import StoredMessage
from core.database import write_transaction
from tables.chat import ChatMessage, ChatSession

PREFIX = "botfleet:anon:"


@dataclass(frozen=True, slots=True)
class AnonymousSession:
    id: uuid.UUID
    customer_id: uuid.UUID
    chatbot_id: uuid.UUID
    created_at: datetime


class AnonymousSessions:
    def __init__(self, redis: aioredis.Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    @staticmethod
    def _meta(session_id: uuid.UUID) -> str:
        return f"{PREFIX}{session_id}"

    @staticmethod
    def _log(session_id: uuid.UUID) -> str:
        return f"{PREFIX}{session_id}:messages"

    async def create(self, customer_id: uuid.UUID, chatbot_id: uuid.UUID) -> AnonymousSession:
        session = AnonymousSession(uuid.uuid4(), customer_id, chatbot_id, datetime.now(UTC))
        key = self._meta(session.id)
        mapping = {
            "customer": str(customer_id),
            "chatbot": str(chatbot_id),
            "created_at": session.created_at.isoformat(),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, self.ttl_s)
            await pipe.execute()
        return session

    async def get(self, session_id: uuid.UUID) -> AnonymousSession | None:
        data = await self.redis.hgetall(self._meta(session_id))
        if not data:
            return None
        return AnonymousSession(
            id=session_id,
            customer_id=uuid.UUID(data[b"customer"].decode()),
            chatbot_id=uuid.UUID(data[b"chatbot"].decode()),
            created_at=datetime.fromisoformat(data[b"created_at"].decode()),
        )

    async def history(self, session_id: uuid.UUID, limit: int | None = None) -> list[StoredMessage]:
        start = -limit if limit else 0
        raw = await self.redis.lrange(self._log(session_id), start, -1)
        return [StoredMessage.from_json(json.loads(item)) for item in raw]

    async def append(self, session_id: uuid.UUID, messages: list[StoredMessage]) -> None:
        """Add messages and keep the session alive for another TTL."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self._log(session_id), *(json.dumps(m.to_json()) for m in messages))
            pipe.expire(self._log(session_id), self.ttl_s)
            pipe.expire(self._meta(session_id), self.ttl_s)
            await pipe.execute()

    async def claim(self, session_id: uuid.UUID, end_user_id: uuid.UUID) -> bool:
        """Move the session with its history to the database; False if there is none.

        The Redis keys are renamed first, so a message arriving meanwhile can't be lost
        between the copy and the delete; a second claim finds nothing and returns False.
        """
        session = await self.get(session_id)
        if session is None:
            return False
        claiming = f"{PREFIX}claiming:{session_id}:{uuid.uuid4().hex}"
        try:
            await self.redis.rename(self._log(session_id), claiming)
        except ResponseError:  # no messages yet
            await self.redis.delete(claiming)
        raw = await self.redis.lrange(claiming, 0, -1)
        messages = [StoredMessage.from_json(json.loads(item)) for item in raw]
        last = messages[-1].created_at if messages else session.created_at
        async with write_transaction():
            await ChatSession(
                id=session.id,
                customer=session.customer_id,
                chatbot=session.chatbot_id,
                end_user=end_user_id,
                title=_title(messages),
                created_at=session.created_at,
                last_activity=last,
            ).save()
            if messages:
                await ChatMessage.insert(*(m.row(session.id) for m in messages))
        await self.redis.delete(claiming, self._meta(session_id))
        return True


def _title(messages: list[StoredMessage]) -> str:
    first = next((m.content for m in messages if m.role == "user"), "")
    return first[:80]
