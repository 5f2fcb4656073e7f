"""Chat: end users, their one-time codes, sessions and messages."""

from __future__ import annotations

import uuid
from enum import StrEnum

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table

from tables.tenancy import Chatbot, Customer


class IdentifierKind(StrEnum):
    phone = "phone"
    email = "email"
    external = "external"  # the customer's own id for its user (user_id in the API)


class SessionStatus(StrEnum):
    active = "active"
    archived = "archived"
    deleted = "deleted"


class MessageRole(StrEnum):
    user = "user"
    assistant = "assistant"
    system = "system"


class EndUser(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    identifier = Varchar(length=320, help_text="Phone (digits), email (lower-case) or external id.")
    identifier_kind = Varchar(length=10, choices=IdentifierKind)
    identity_key = Varchar(length=400, unique=True, help_text="customer:kind:identifier.")
    verified = Boolean(default=False, help_text="Proved by OTP or password.")
    password_hash = Varchar(length=200, null=True, default=None, secret=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login = Timestamptz(null=True, default=None)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.identifier])


class OtpCode(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    identity_key = Varchar(length=400, index=True, help_text="Who the code was sent to.")
    code_hash = Varchar(length=64, secret=True, help_text="SHA-256 of code and id.")
    expires_at = Timestamptz(index=True)
    attempts = Integer(default=0, help_text="Wrong tries; locked at 5.")
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class ChatSession(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    chatbot = ForeignKey(Chatbot, on_delete=OnDelete.cascade, index=True)
    end_user = ForeignKey(EndUser, on_delete=OnDelete.set_null, null=True, index=True)
    external_user_id = Varchar(length=200, null=True, default=None, index=True)
    title = Varchar(length=200, default="")
    status = Varchar(length=20, choices=SessionStatus, default=SessionStatus.active, index=True)
    pinned = Boolean(default=False)
    parent_session = UUID(null=True, default=None, help_text="Branched from this session.")
    branch_point = Integer(null=True, default=None, help_text="Messages copied from the parent.")
    created_at = Timestamptz(default=TimestamptzNow())
    last_activity = Timestamptz(default=TimestamptzNow(), index=True)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.title])


class ChatMessage(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    session = ForeignKey(ChatSession, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=20, choices=MessageRole)
    content = Text()
    model = Varchar(length=200, default="")
    provider = Varchar(length=100, default="")
    prompt_tokens = Integer(default=0)
    completion_tokens = Integer(default=0)
    citations = JSON(default=[])
    tool_calls = JSON(default=[])
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
