"""A customer's token usage: what was used, what is left, and where it went."""

from __future__ import annotations

from litestar import Controller, get

from api.auth.middleware import CustomerAuthMiddleware
from api.deps import Principal
from api.usage.schemas import UsageSummaryOut
from core.billing import metering


class UsageController(Controller):
    path = "/api/v1/usage"
    tags = ["billing"]
    middleware = [CustomerAuthMiddleware]

    @get("/", summary="Tokens used and remaining, by kind, chatbot and UTC day")
    async def get_usage(self, principal: Principal) -> UsageSummaryOut:
        """Exact at once: events not yet folded into the counters are included."""
        return UsageSummaryOut.of(await metering.usage_summary(principal.customer_id))
