from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from api.schemas import Input, Output, Patch
from tables.tenancy import Chatbot

BotName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Description = Annotated[str, msgspec.Meta(max_length=2_000)]
SystemPrompt = Annotated[str, msgspec.Meta(max_length=16_000)]
Model = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Temperature = Annotated[float, msgspec.Meta(ge=0.0, le=2.0)]
MaxTokens = Annotated[int, msgspec.Meta(ge=1, le=32_000)]
Origins = Annotated[list[Annotated[str, msgspec.Meta(max_length=300)]], msgspec.Meta(max_length=50)]
DemoLimit = Annotated[int, msgspec.Meta(ge=0, le=10_000)]


class ChatbotCreate(Input):
    name: BotName
    description: Description = ""
    system_prompt: SystemPrompt = ""
    model: Model | None = None
    temperature: Temperature = 0.7
    max_tokens: MaxTokens = 512
    allowed_origins: Origins = []
    demo_message_limit: DemoLimit = 10
    memory_enabled: bool = True


class ChatbotUpdate(Patch):
    """Only the fields sent are changed."""

    name: BotName | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    system_prompt: SystemPrompt | msgspec.UnsetType = msgspec.UNSET
    model: Model | msgspec.UnsetType | None = msgspec.UNSET
    temperature: Temperature | msgspec.UnsetType = msgspec.UNSET
    max_tokens: MaxTokens | msgspec.UnsetType = msgspec.UNSET
    allowed_origins: Origins | msgspec.UnsetType = msgspec.UNSET
    demo_message_limit: DemoLimit | msgspec.UnsetType = msgspec.UNSET
    memory_enabled: bool | msgspec.UnsetType = msgspec.UNSET


class ChatbotOut(Output):
    id: uuid.UUID
    name: str
    description: str
    system_prompt: str
    model: str | None
    temperature: float
    max_tokens: int
    allowed_origins: list[str]
    demo_message_limit: int
    memory_enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, bot: Chatbot) -> ChatbotOut:
        return cls(
            id=bot.id,
            name=bot.name,
            description=bot.description,
            system_prompt=bot.system_prompt,
            model=bot.model,
            temperature=bot.temperature,
            max_tokens=bot.max_tokens,
            allowed_origins=list(bot.allowed_origins or []),
            demo_message_limit=bot.demo_message_limit,
            memory_enabled=bot.memory_enabled,
            created_at=bot.created_at,
            updated_at=bot.updated_at,
        )


class ChatbotCreated(ChatbotOut):
    api_key: str  # shown once


class ApiKeyOut(Output):
    api_key: str


class SnippetOut(Output):
    html: str
