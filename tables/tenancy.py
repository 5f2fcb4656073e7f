"""Tenancy: customers, their staff, their chatbots and the chatbots' API keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table


def utcnow() -> datetime:
    return datetime.now(UTC)


class CustomerStatus(StrEnum):
    active = "active"
    suspended = "suspended"


class Plan(StrEnum):
    free = "free"
    starter = "starter"
    business = "business"
    enterprise = "enterprise"


class Role(StrEnum):
    owner = "owner"
    member = "member"


class Customer(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    name = Varchar(length=200, help_text="Company or account name.")
    contact_email = Varchar(length=320, help_text="Where invoices and notices go.")
    billing_info = JSON(default={}, help_text="Billing address, tax id and the like.")
    plan = Varchar(length=20, choices=Plan, default=Plan.free, help_text="Commercial plan.")
    token_quota = BigInt(default=1_000_000, help_text="Tokens this customer may use.")
    status = Varchar(
        length=20,
        choices=CustomerStatus,
        default=CustomerStatus.active,
        index=True,
        help_text="A suspended customer's tokens and keys stop working at once.",
    )
    created_at = Timestamptz(default=TimestamptzNow(), help_text="When the customer registered.")
    updated_at = Timestamptz(default=TimestamptzNow(), auto_update=utcnow)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class CustomerUser(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    customer = ForeignKey(
        Customer,
        on_delete=OnDelete.cascade,
        index=True,
        help_text="The customer this user works for.",
    )
    email = Varchar(length=320, unique=True, help_text="Login; stored lower-case.")
    name = Varchar(length=200, default="", help_text="Display name.")
    password_hash = Varchar(length=200, secret=True, help_text="Argon2 hash; never shown.")
    role = Varchar(
        length=20, choices=Role, default=Role.member, help_text="Owners manage users and keys."
    )
    created_at = Timestamptz(default=TimestamptzNow())
    last_login = Timestamptz(null=True, default=None, help_text="Last successful sign-in.")

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.email])


class Chatbot(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True, help_text="The owner.")
    name = Varchar(length=100, help_text="Shown to end users.")
    description = Text(default="", help_text="What the bot is for.")
    system_prompt = Text(default="", help_text="Instructions prepended to every conversation.")
    model = Varchar(length=200, null=True, default=None, help_text="LLM model; empty = default.")
    temperature = Real(default=0.7, help_text="Sampling temperature, 0-2.")
    max_tokens = Integer(default=512, help_text="Longest answer in tokens.")
    allowed_origins = JSON(default=[], help_text="Sites that may embed the widget.")
    demo_message_limit = Integer(default=10, help_text="Messages an anonymous user may send.")
    memory_enabled = Boolean(default=True, help_text="Remember end users across sessions.")
    flow = JSON(null=True, default=None, help_text="Optional scripted conversation flow.")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), auto_update=utcnow)
    deleted_at = Timestamptz(
        null=True, default=None, index=True, help_text="Soft delete: hidden everywhere when set."
    )

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class ApiKey(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    chatbot = ForeignKey(
        Chatbot, on_delete=OnDelete.cascade, index=True, help_text="Key of this bot."
    )
    prefix = Varchar(length=32, unique=True, help_text="Public part of the key, used to find it.")
    secret_hash = Varchar(length=64, secret=True, help_text="SHA-256 of the whole key.")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used = Timestamptz(null=True, default=None, help_text="Updated at most once a minute.")
    revoked_at = Timestamptz(null=True, default=None, help_text="Set when the key was rotated.")

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s…", columns=[cls.prefix])
