"""The usage outbox: one `UsageEvent` per LLM or embedding call, written exactly once."""

from __future__ import annotations

import uuid

from core.database import is_unique_violation
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
    if await UsageEvent.exists().where(UsageEvent.idempotency_key == idempotency_key):
        return False
    try:
        await UsageEvent(
            idempotency_key=idempotency_key,
            customer=customer_id,
            chatbot=chatbot_id,
            kind=kind,
            model=model[:200],
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            estimated=estimated,
        ).save()
    except Exception as exc:
        if is_unique_violation(exc):
            return False
        raise
    return True
