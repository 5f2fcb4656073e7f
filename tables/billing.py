"""Billing: the usage outbox (one event per LLM or embedding call)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    ForeignKey,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.tenancy import Chatbot, Customer


class UsageKind(StrEnum):
    chat = "chat"
    embedding = "embedding"
    memory = "memory"


class UsageEvent(Table):
    id = UUID(primary_key=True, default=uuid.uuid4)
    idempotency_key = Varchar(length=200, unique=True, help_text="One event per call, ever.")
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, index=True)
    chatbot = ForeignKey(Chatbot, on_delete=OnDelete.set_null, null=True, index=True)
    kind = Varchar(length=20, choices=UsageKind, index=True)
    model = Varchar(length=200, default="")
    input_tokens = BigInt(default=0)
    output_tokens = BigInt(default=0)
    estimated = Boolean(default=False, help_text="Counted by us, not reported by the provider.")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    metered_at = Timestamptz(null=True, default=None, index=True, help_text="Folded into counters.")


class UsageCounter(Table):
    """Running totals per customer, folded from events exactly once (see core/billing)."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    customer = ForeignKey(Customer, on_delete=OnDelete.cascade, unique=True)
    input_used = BigInt(default=0)
    output_used = BigInt(default=0)
    total_used = BigInt(default=0)
    updated_at = Timestamptz(default=TimestamptzNow())
