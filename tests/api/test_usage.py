"""`GET /api/v1/usage` and the quota, through the real HTTP server."""

from __future__ import annotations

import uuid

import httpx
import pytest

from core.billing import metering, usage
from core.billing.quota import ensure_tokens_left
from core.errors import PaymentRequired
from tables.billing import UsageKind
from tables.tenancy import Customer
from tests.support.knowledge import make_bot
from tests.support.server import LiveServer
from tests.support.tenants import Tenant, add_member


def _record(
    fx_server: LiveServer,
    tenant: Tenant,
    bot: str | None,
    kind: UsageKind,
    inp: int,
    out: int = 0,
) -> None:
    written = fx_server.run(
        usage.record(
            idempotency_key=f"api-test:{uuid.uuid4()}",
            customer_id=uuid.UUID(tenant.customer_id),
            chatbot_id=uuid.UUID(bot) if bot else None,
            kind=kind,
            model="test-model",
            input_tokens=inp,
            output_tokens=out,
        )
    )
    assert written


def _usage(client: httpx.Client, tenant: Tenant) -> dict:
    response = client.get("/api/v1/usage", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _set_quota(fx_server: LiveServer, tenant: Tenant, quota: int) -> None:
    fx_server.run(
        Customer.update({Customer.token_quota: quota}).where(Customer.id == tenant.customer_id)
    )


def test_usage_shows_chat_and_embedding_tokens_before_and_after_a_fold(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = make_bot(fx_client, fx_tenant, "Helpdesk")
    _record(fx_server, fx_tenant, bot, UsageKind.embedding, 900)
    _record(fx_server, fx_tenant, bot, UsageKind.chat, 120, 30)
    _record(fx_server, fx_tenant, bot, UsageKind.chat, 80, 20)

    body = _usage(fx_client, fx_tenant)
    assert body["used"] == {"input": 1_100, "output": 50, "total": 1_150}
    assert body["quota"] == 1_000_000
    assert body["remaining"] == 1_000_000 - 1_150
    assert body["by_kind"]["chat"] == {"input": 200, "output": 50, "total": 250}
    assert body["by_kind"]["embedding"] == {"input": 900, "output": 0, "total": 900}
    assert body["by_chatbot"] == [
        {"chatbot_id": bot, "name": "Helpdesk", "input": 1_100, "output": 50, "total": 1_150}
    ]
    [day] = body["by_day"]
    assert (day["input"], day["output"], day["total"]) == (1_100, 50, 1_150)

    fx_server.run(metering.fold(uuid.UUID(fx_tenant.customer_id)))
    assert _usage(fx_client, fx_tenant) == body  # the counters change nothing it shows


def test_each_customer_sees_only_its_own_usage(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant, fx_other_tenant: Tenant
) -> None:
    a_bot = make_bot(fx_client, fx_tenant, "A bot")
    b_bot = make_bot(fx_client, fx_other_tenant, "B bot")
    _record(fx_server, fx_tenant, a_bot, UsageKind.chat, 500, 100)
    _record(fx_server, fx_other_tenant, b_bot, UsageKind.chat, 3, 2)

    a, b = _usage(fx_client, fx_tenant), _usage(fx_client, fx_other_tenant)
    assert a["used"]["total"] == 600
    assert b["used"]["total"] == 5
    assert [bot["chatbot_id"] for bot in a["by_chatbot"]] == [a_bot]
    assert [bot["chatbot_id"] for bot in b["by_chatbot"]] == [b_bot]


def test_a_new_customer_has_used_nothing(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    body = _usage(fx_client, fx_tenant)
    assert body["used"] == {"input": 0, "output": 0, "total": 0}
    assert body["remaining"] == body["quota"]
    assert set(body["by_kind"]) == {"chat", "embedding", "memory"}
    assert body["by_chatbot"] == body["by_day"] == []


def test_any_member_may_read_usage_and_strangers_may_not(
    fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    member = add_member(fx_client, fx_tenant)
    assert fx_client.get("/api/v1/usage", headers=member.headers).status_code == 200
    anonymous = fx_client.get("/api/v1/usage")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


def test_over_quota_is_payment_required(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    customer = uuid.UUID(fx_tenant.customer_id)
    bot = make_bot(fx_client, fx_tenant)
    _set_quota(fx_server, fx_tenant, 1_000)
    _record(fx_server, fx_tenant, bot, UsageKind.chat, 600, 100)
    assert fx_server.run(ensure_tokens_left(customer)) == 300
    body = _usage(fx_client, fx_tenant)
    assert (body["quota"], body["remaining"]) == (1_000, 300)

    # Exactly at the quota is over it: the next call would exceed it. Unfolded events count.
    _record(fx_server, fx_tenant, bot, UsageKind.embedding, 300)
    with pytest.raises(PaymentRequired) as over:
        fx_server.run(ensure_tokens_left(customer))
    assert over.value.status == 402
    assert "token quota of 1000 is used up" in over.value.detail
    fx_server.run(metering.fold(customer))
    with pytest.raises(PaymentRequired):  # and the same once they are folded
        fx_server.run(ensure_tokens_left(customer))

    _record(fx_server, fx_tenant, bot, UsageKind.chat, 50, 50)  # a call already under way
    assert _usage(fx_client, fx_tenant)["remaining"] == 0  # never negative
    _set_quota(fx_server, fx_tenant, 5_000)
    assert fx_server.run(ensure_tokens_left(customer)) == 5_000 - 1_100
