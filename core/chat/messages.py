"""A stored chat message, the same shape in Redis and in the database."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from tables.chat import ChatMessage


@dataclass(frozen=True, slots=True)
class StoredMessage:
    role: str
    content: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    model: str = ""
    provider: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    citations: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = str(self.id)
        data["created_at"] = self.created_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredMessage:
        return cls(
            **{
                **data,
                "id": uuid.UUID(data["id"]),
                "created_at": datetime.fromisoformat(data["created_at"]),
            }
        )

    def row(self, session_id: uuid.UUID) -> ChatMessage:
        return ChatMessage(
            id=self.id,
            session=session_id,
            role=self.role,
            content=self.content,
            model=self.model,
            provider=self.provider,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            citations=self.citations,
            created_at=self.created_at,
        )

    @classmethod
    def of(cls, row: ChatMessage | dict[str, Any]) -> StoredMessage:
        get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
        return cls(
            id=get("id"),
            role=get("role"),
            content=get("content"),
            model=get("model"),
            provider=get("provider"),
            prompt_tokens=get("prompt_tokens"),
            completion_tokens=get("completion_tokens"),
            citations=list(get("citations") or []),
            created_at=get("created_at"),
        )
