"""Authenticating a chatbot's API key: one indexed query, constant-time comparison."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from core.errors import Forbidden, Unauthorized
from core.security import api_keys
from core.tenancy.accounts import SUSPENDED
from core.tenancy.principals import ChatbotPrincipal
from tables.tenancy import ApiKey, CustomerStatus

INVALID = "invalid or revoked API key"
# last_used is informational: write it at most once a minute per key and process.
LAST_USED_EVERY_S = 60.0
_last_written: dict[uuid.UUID, float] = {}


async def authenticate(plaintext: str) -> ChatbotPrincipal:
    prefix = api_keys.prefix_of(plaintext)
    if prefix is None:
        raise Unauthorized(INVALID)
    row = (
        await ApiKey.select(
            ApiKey.id,
            ApiKey.secret_hash,
            ApiKey.revoked_at,
            ApiKey.chatbot.id,
            ApiKey.chatbot.deleted_at,
            ApiKey.chatbot.customer.id,
            ApiKey.chatbot.customer.status,
        )
        .where(ApiKey.prefix == prefix)
        .first()
    )
    if row is None or not api_keys.matches(plaintext, row["secret_hash"]):
        raise Unauthorized(INVALID)
    if row["revoked_at"] is not None or row["chatbot.deleted_at"] is not None:
        raise Unauthorized(INVALID)
    if row["chatbot.customer.status"] != CustomerStatus.active:
        raise Forbidden(SUSPENDED)
    await _touch(row["id"])
    return ChatbotPrincipal(
        chatbot_id=row["chatbot.id"], customer_id=row["chatbot.customer.id"], key_id=row["id"]
    )


async def _touch(key_id: uuid.UUID) -> None:
    now = time.monotonic()
    if now - _last_written.get(key_id, float("-inf")) < LAST_USED_EVERY_S:
        return
    if len(_last_written) > 100_000:  # bound the memory of a long-lived process
        _last_written.clear()
    _last_written[key_id] = now
    await ApiKey.update({ApiKey.last_used: datetime.now(UTC)}).where(ApiKey.id == key_id)
