"""The usage outbox: one `UsageEvent` per LLM or embedding call, written exactly once."""

from __future__ import annotations

import uuid

from tables.billing import UsageEvent, UsageKind


async def record(
    *,
    idempotency_key: str,
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID | None,
    kind: UsageKind,
    model: str,
    input_tokens: int,
    output_tokens: int = 0,
    estimated: bool = False,
) -> bool:
    """Write the event unless one with this key exists; True when written.

    Call it inside the transaction that stores what the tokens paid for, so both land or
    neither does.
    """
    written = (
        await UsageEvent.insert(
            UsageEvent(
                idempotency_key=idempotency_key,
                customer=customer_id,
                chatbot=chatbot_id,
                kind=kind,
                model=model[:200],
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                estimated=estimated,
            )
        )
        # A second event with the same key is dropped, not an error (and on PostgreSQL it
        # must not abort the caller's transaction).
        .on_conflict(target=UsageEvent.idempotency_key, action="DO NOTHING")
        .returning(UsageEvent.id)
    )
    return bool(written)
