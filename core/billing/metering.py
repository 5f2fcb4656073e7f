"""Metering: fold the usage outbox into per-customer counters, exactly once.

`UsageEvent` rows are the truth (written by `core.billing.usage.record` in the transaction
that stores what the tokens paid for); `UsageCounter` is a running total kept so the quota
check before every LLM call costs one indexed lookup instead of a sum over all events.

Exactly once, even with folds running concurrently or retried after a crash:

- An event is *claimed* by the one UPDATE that moves its `metered_at` from NULL to a time
  (`... WHERE metered_at IS NULL ... RETURNING`). Only the transaction whose UPDATE changed
  the row gets it back, so only that transaction adds its tokens.
- The counter increment runs in the same transaction as the claim. Either both commit
  (the event is marked and counted) or neither does (the event stays unmetered and the next
  fold takes it) — a crash between the two is impossible to observe.
- PostgreSQL (READ COMMITTED): the claim picks its rows with `FOR UPDATE SKIP LOCKED`, so two
  folds take disjoint sets without waiting on each other, and a row claimed and committed by
  another fold after our snapshot is re-checked against `metered_at IS NULL` and dropped.
  The counter upsert (`INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x`) is a single
  atomic statement under a row lock; customers are visited in sorted order so two folds
  that both touch customers A and B lock them in the same order and cannot deadlock.
- SQLite: the transaction starts `IMMEDIATE`, taking the database's single write lock up
  front, so folds run one after another and each sees what the previous one committed.

`usage_summary` computes its breakdowns from the events themselves (GROUP BY), in one
snapshot, and its totals as counter + not-yet-folded events — exact before any fold.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.query.functions.aggregate import Sum
from piccolo.querystring import QueryString

from core.database import write_transaction
from core.errors import NotFound
from core.tenancy.scope import owned_by, register
from tables.billing import UsageCounter, UsageEvent, UsageKind
from tables.tenancy import Customer

register(UsageEvent, UsageEvent.customer)

# Events claimed per transaction: bounds lock time and memory; `fold` loops until done.
BATCH_SIZE = 1_000


@dataclass(frozen=True, slots=True)
class Tokens:
    input: int = 0
    output: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output


@dataclass(frozen=True, slots=True)
class ChatbotUsage:
    chatbot_id: uuid.UUID | None  # None: events of a chatbot that was hard-deleted
    name: str
    tokens: Tokens


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: date  # UTC
    tokens: Tokens


@dataclass(frozen=True, slots=True)
class Summary:
    used: Tokens
    quota: int
    remaining: int
    by_kind: dict[UsageKind, Tokens] = field(default_factory=dict)
    by_chatbot: list[ChatbotUsage] = field(default_factory=list)
    by_day: list[DayUsage] = field(default_factory=list)


def _db() -> Engine:
    return UsageEvent._meta.db


def _is_sqlite() -> bool:
    return isinstance(_db(), SQLiteEngine)


@asynccontextmanager
async def _snapshot() -> AsyncIterator[None]:
    """Several reads that see one state of the database (a fold may commit meanwhile)."""
    db = _db()
    nested = db.transaction_exists()
    async with db.transaction():
        if not nested and not isinstance(db, SQLiteEngine):
            # Must be the first statement; READ COMMITTED would give each query its own view.
            await db.run_querystring(QueryString("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        # SQLite in WAL mode: a read transaction keeps the snapshot of its first read.
        yield


# Table names are spelled out (usage_event, usage_counter, customer: Piccolo's defaults for
# the classes in tables/); every value is a bound parameter.


def _claim(now: datetime, customer_id: uuid.UUID | None) -> QueryString:
    """UPDATE ... SET metered_at WHERE metered_at IS NULL ... RETURNING what it claimed."""
    only = QueryString("")
    if customer_id is not None:
        only = QueryString(" AND customer = {}", customer_id)
    # PostgreSQL: lock the candidates, skipping rows another fold holds, so concurrent folds
    # split the work instead of queueing (or deadlocking) on each other's rows.
    lock = QueryString("" if _is_sqlite() else " FOR UPDATE SKIP LOCKED")
    pick = QueryString(
        "SELECT id FROM usage_event WHERE metered_at IS NULL{} LIMIT {}{}", only, BATCH_SIZE, lock
    )
    # The outer `metered_at IS NULL` is what makes the claim exclusive on any backend; the
    # inner select only chooses candidates.
    return QueryString(
        "UPDATE usage_event SET metered_at = {} WHERE id IN ({}) AND metered_at IS NULL "
        "RETURNING customer, input_tokens, output_tokens",
        now,
        pick,
    )


# Created on demand (unique customer); the increment is one atomic statement.
_COUNTER_UPSERT = (
    "INSERT INTO usage_counter "
    "(id, customer, input_used, output_used, total_used, updated_at) "
    "VALUES ({}, {}, {}, {}, {}, {}) "
    "ON CONFLICT (customer) DO UPDATE SET "
    "input_used = usage_counter.input_used + excluded.input_used, "
    "output_used = usage_counter.output_used + excluded.output_used, "
    "total_used = usage_counter.total_used + excluded.total_used, "
    "updated_at = excluded.updated_at"
)


async def _fold_batch(customer_id: uuid.UUID | None) -> int:
    async with write_transaction():
        now = datetime.now(UTC)
        claimed = await UsageEvent.raw("{}", _claim(now, customer_id))
        sums: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
        for row in claimed:
            per_customer = sums[uuid.UUID(str(row["customer"]))]
            per_customer[0] += int(row["input_tokens"])
            per_customer[1] += int(row["output_tokens"])
        for customer in sorted(sums):  # one lock order for every fold: no deadlocks
            inp, out = sums[customer]
            await UsageCounter.raw(
                _COUNTER_UPSERT, uuid.uuid4(), customer, inp, out, inp + out, now
            )
    return len(claimed)


async def fold(customer_id: uuid.UUID | None = None) -> int:
    """Fold unmetered events (of one customer, or all) into counters; returns how many.

    Safe to run any number of times, concurrently, or again after a crash.
    """
    folded = 0
    while True:
        claimed = await _fold_batch(customer_id)
        folded += claimed
        # Fewer than a batch: nothing is left, or the rest is being folded by a concurrent
        # fold right now (its rows are locked and were skipped) — either way we are done.
        if claimed < BATCH_SIZE:
            return folded


# Quota and tokens used (counter + pending events) in ONE statement, hence one snapshot: read
# in two statements, a fold committing between them could count events twice or not at all.
_POSITION = (
    "SELECT c.token_quota AS quota, "
    "COALESCE(k.input_used, 0) + COALESCE(p.input, 0) AS input, "
    "COALESCE(k.output_used, 0) + COALESCE(p.output, 0) AS output "
    "FROM customer c "
    "LEFT JOIN usage_counter k ON k.customer = c.id "
    "LEFT JOIN (SELECT SUM(input_tokens) AS input, SUM(output_tokens) AS output "
    "FROM usage_event WHERE customer = {} AND metered_at IS NULL) p ON 1 = 1 "
    "WHERE c.id = {}"
)


async def position(customer_id: uuid.UUID) -> tuple[int, Tokens]:
    """(token quota, tokens used so far) — exact even before the pending events are folded."""
    rows = await Customer.raw(_POSITION, customer_id, customer_id)
    if not rows:
        raise NotFound(f"customer {customer_id} not found")
    row = rows[0]
    return int(row["quota"]), Tokens(int(row["input"]), int(row["output"]))


def _utc_day(alias: str | None = None) -> QueryString:
    if _is_sqlite():
        # Piccolo stores Timestamptz in SQLite as UTC text ("YYYY-MM-DD HH:MM:SS+00:00").
        return QueryString("date({})", UsageEvent.created_at, alias=alias)
    # Not EXTRACT or a plain ::date: those follow the session's TimeZone, not UTC.
    return QueryString("CAST(({} AT TIME ZONE 'UTC') AS DATE)", UsageEvent.created_at, alias=alias)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)  # SQLite: text


def _tokens(row: dict[str, Any]) -> Tokens:
    return Tokens(int(row["input"] or 0), int(row["output"] or 0))


def _sums() -> tuple[Sum, Sum]:
    tokens_in = Sum(UsageEvent.input_tokens, alias="input")
    return tokens_in, Sum(UsageEvent.output_tokens, alias="output")


async def usage_summary(customer_id: uuid.UUID) -> Summary:
    """Used/remaining tokens and where they went: by kind, per chatbot, per UTC day."""
    scope = owned_by(UsageEvent, customer_id)
    async with _snapshot():
        quota, used = await position(customer_id)
        kinds = (
            await UsageEvent.select(UsageEvent.kind, *_sums())
            .where(scope)
            .group_by(UsageEvent.kind)
        )
        bots = (
            await UsageEvent.select(
                UsageEvent.chatbot, UsageEvent.chatbot.name.as_alias("name"), *_sums()
            )
            .where(scope)
            .group_by(UsageEvent.chatbot, UsageEvent.chatbot.name)
        )
        days = await UsageEvent.select(_utc_day("day"), *_sums()).where(scope).group_by(_utc_day())
    by_kind = {kind: Tokens() for kind in UsageKind}
    for row in kinds:
        by_kind[UsageKind(row["kind"])] = _tokens(row)
    by_chatbot = [
        ChatbotUsage(
            chatbot_id=uuid.UUID(str(row["chatbot"])) if row["chatbot"] else None,
            name=row["name"] or "(deleted chatbot)",
            tokens=_tokens(row),
        )
        for row in bots
    ]
    by_chatbot.sort(key=lambda usage: (-usage.tokens.total, usage.name))
    by_day = sorted(
        (DayUsage(day=_as_date(row["day"]), tokens=_tokens(row)) for row in days),
        key=lambda usage: usage.day,
    )
    return Summary(
        used=used,
        quota=quota,
        remaining=max(0, quota - used.total),
        by_kind=by_kind,
        by_chatbot=by_chatbot,
        by_day=by_day,
    )
