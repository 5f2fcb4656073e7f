"""Chatbots and their API keys, always reached through the customer's scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from core.database import write_transaction
from core.errors import InvalidInput, NotFound
from core.security import api_keys
from core.templates import render
from core.tenancy.scope import get_owned, owned_by
from tables.tenancy import ApiKey, Chatbot

# Columns a customer may set; everything else (ids, timestamps, customer) is ours.
EDITABLE = (
    "name",
    "description",
    "system_prompt",
    "model",
    "temperature",
    "max_tokens",
    "allowed_origins",
    "demo_message_limit",
    "memory_enabled",
)


@dataclass(frozen=True, slots=True)
class CreatedChatbot:
    chatbot: Chatbot
    api_key: str  # the only time the secret is shown


def normalise_origin(origin: str) -> str:
    """`https://shop.example.com[:port]`, nothing else: origins are compared exactly."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise InvalidInput(
            f"{origin!r} is not an origin like https://shop.example.com", field="allowed_origins"
        )
    if parts.query or parts.fragment or parts.username:
        raise InvalidInput(
            f"{origin!r} must not carry a path, query or credentials", field="allowed_origins"
        )
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(
            f"unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
        )
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise InvalidInput("name must not be blank", field="name")
    if "allowed_origins" in changes:
        changes["allowed_origins"] = sorted(
            {normalise_origin(o) for o in changes["allowed_origins"]}
        )
    return changes


async def _new_key(chatbot_id: uuid.UUID) -> str:
    key = api_keys.generate()
    await ApiKey(chatbot=chatbot_id, prefix=key.prefix, secret_hash=key.secret_hash).save()
    return key.plaintext


async def create(customer_id: uuid.UUID, fields: dict[str, Any]) -> CreatedChatbot:
    chatbot = Chatbot(customer=customer_id, **_clean(dict(fields)))
    async with write_transaction():
        await chatbot.save()
        plaintext = await _new_key(chatbot.id)
    return CreatedChatbot(chatbot=chatbot, api_key=plaintext)


async def list_for(customer_id: uuid.UUID) -> list[Chatbot]:
    return (
        await Chatbot.objects()
        .where(owned_by(Chatbot, customer_id))
        .order_by(Chatbot.created_at)
        .output(load_json=True)
    )


async def get(customer_id: uuid.UUID, chatbot_id: uuid.UUID) -> Chatbot:
    return await get_owned(Chatbot, customer_id, chatbot_id, name="chatbot")


async def update(customer_id: uuid.UUID, chatbot_id: uuid.UUID, changes: dict[str, Any]) -> Chatbot:
    chatbot = await get(customer_id, chatbot_id)
    for column, value in _clean(dict(changes)).items():
        setattr(chatbot, column, value)
    await chatbot.save()
    return chatbot


async def delete(customer_id: uuid.UUID, chatbot_id: uuid.UUID) -> None:
    """Soft delete: the bot and its keys vanish everywhere at once."""
    now = datetime.now(UTC)
    async with write_transaction():
        updated = (
            await Chatbot.update({Chatbot.deleted_at: now})
            .where(Chatbot.id == chatbot_id, owned_by(Chatbot, customer_id))
            .returning(Chatbot.id)
        )
        if not updated:
            raise NotFound(f"chatbot {chatbot_id} not found")
        await ApiKey.update({ApiKey.revoked_at: now}).where(
            ApiKey.chatbot == chatbot_id, ApiKey.revoked_at.is_null()
        )


async def rotate_key(customer_id: uuid.UUID, chatbot_id: uuid.UUID) -> str:
    """A new key; every earlier key of the bot stops working in the same transaction."""
    chatbot = await get(customer_id, chatbot_id)
    async with write_transaction():
        await ApiKey.update({ApiKey.revoked_at: datetime.now(UTC)}).where(
            ApiKey.chatbot == chatbot.id, ApiKey.revoked_at.is_null()
        )
        return await _new_key(chatbot.id)


def snippet(chatbot_id: uuid.UUID, public_url: str) -> str:
    return render("snippet.html", chatbot_id=chatbot_id, public_url=public_url.rstrip("/"))
