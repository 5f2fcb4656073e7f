"""The token quota, checked before any LLM call: over it, the customer gets 402."""

from __future__ import annotations

import uuid

from core.billing.metering import position
from core.errors import PaymentRequired


async def ensure_tokens_left(customer_id: uuid.UUID) -> int:
    """Tokens the customer may still use; PaymentRequired when none are left.

    One indexed statement (customer by id, its counter, its pending events): the counter
    keeps it cheap, the pending events keep it exact between folds.
    """
    quota, used = await position(customer_id)
    if used.total >= quota:
        raise PaymentRequired(
            f"this account's token quota of {quota} is used up ({used.total} tokens used); "
            "raise the quota or upgrade the plan to keep chatting"
        )
    return quota - used.total
