"""Who is calling: a customer user (JWT) or a chatbot (API key)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tables.tenancy import Role


@dataclass(frozen=True, slots=True)
class CustomerPrincipal:
    user_id: uuid.UUID
    customer_id: uuid.UUID
    role: Role
    email: str
    jti: str
    expires_at: datetime

    @property
    def is_owner(self) -> bool:
        return self.role is Role.owner


@dataclass(frozen=True, slots=True)
class ChatbotPrincipal:
    chatbot_id: uuid.UUID
    customer_id: uuid.UUID
    key_id: uuid.UUID
