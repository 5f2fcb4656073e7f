"""The one scoping path: every customer-owned row is reached through `owned_by`.

A row of another customer is indistinguishable from a row that doesn't exist (404), so
ids never leak across tenants.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from piccolo.columns.combination import And, Where
from piccolo.table import Table

from core.errors import NotFound
from tables.tenancy import ApiKey, Chatbot, Customer, CustomerUser

T = TypeVar("T", bound=Table)

# How each customer-owned table reaches its customer, and what makes a row "live"
# (soft-deleted chatbots, and everything under them, are hidden everywhere).
_CUSTOMER_COLUMN: dict[type[Table], Any] = {
    Customer: Customer.id,
    CustomerUser: CustomerUser.customer,
    Chatbot: Chatbot.customer,
    ApiKey: ApiKey.chatbot.customer,
}
_LIVE: dict[type[Table], Any] = {
    Chatbot: Chatbot.deleted_at.is_null(),
    ApiKey: ApiKey.chatbot.deleted_at.is_null(),
}


def register(table: type[Table], customer_column: Any, live: Any = None) -> None:
    """Later areas (documents, sessions, ...) declare how their rows reach the customer."""
    _CUSTOMER_COLUMN[table] = customer_column
    if live is not None:
        _LIVE[table] = live


def owned_by(table: type[Table], customer_id: uuid.UUID) -> Where | And:
    try:
        column = _CUSTOMER_COLUMN[table]
    except KeyError:
        raise TypeError(f"{table.__name__} has no customer scope registered") from None
    clause = column == customer_id
    live = _LIVE.get(table)
    return clause & live if live is not None else clause


async def get_owned(table: type[T], customer_id: uuid.UUID, row_id: uuid.UUID, *, name: str) -> T:
    row = (
        await table.objects()
        .where(table._meta.primary_key == row_id, owned_by(table, customer_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound(f"{name} {row_id} not found")
    return row
