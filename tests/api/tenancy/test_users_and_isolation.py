"""Roles inside a customer, and isolation between customers: 404, never data."""

from __future__ import annotations

import httpx
import pytest

from core.tenancy import accounts
from tables.tenancy import CustomerStatus
from tests.api.tenancy.test_chatbots import create_bot, public_get
from tests.support.server import LiveServer
from tests.support.tenants import Tenant, add_member


def test_owner_manages_users(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    member = add_member(fx_client, fx_tenant)
    users = fx_client.get("/api/v1/users", headers=fx_tenant.headers).json()
    assert {u["email"]: u["role"] for u in users} == {
        fx_tenant.email: "owner",
        member.email: "member",
    }
    assert (
        fx_client.delete(f"/api/v1/users/{member.user_id}", headers=fx_tenant.headers).status_code
        == 204
    )
    assert fx_client.get("/api/v1/auth/me", headers=member.headers).status_code == 401
    own = fx_client.delete(f"/api/v1/users/{fx_tenant.user_id}", headers=fx_tenant.headers)
    assert own.status_code == 400


def test_member_reads_but_cannot_do_an_owners_work(
    fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = create_bot(fx_client, fx_tenant)
    member = add_member(fx_client, fx_tenant)
    h = member.headers
    assert fx_client.get("/api/v1/chatbots", headers=h).status_code == 200
    assert fx_client.get(f"/api/v1/chatbots/{bot['id']}", headers=h).status_code == 200
    assert fx_client.get(f"/api/v1/chatbots/{bot['id']}/snippet", headers=h).status_code == 200
    forbidden = [
        fx_client.get("/api/v1/users", headers=h),
        fx_client.post(
            "/api/v1/users",
            headers=h,
            json={"email": "x@example.com", "password": "Passw0rdX", "name": "X"},
        ),
        fx_client.delete(f"/api/v1/users/{fx_tenant.user_id}", headers=h),
        fx_client.post("/api/v1/chatbots", headers=h, json={"name": "Mine"}),
        fx_client.patch(f"/api/v1/chatbots/{bot['id']}", headers=h, json={"name": "Renamed"}),
        fx_client.delete(f"/api/v1/chatbots/{bot['id']}", headers=h),
        fx_client.post(f"/api/v1/chatbots/{bot['id']}/rotate-key", headers=h),
    ]
    assert [r.status_code for r in forbidden] == [403] * len(forbidden)
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 200


def test_other_customer_gets_404_for_every_id(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_other_tenant: Tenant
) -> None:
    bot = create_bot(fx_client, fx_tenant)
    member = add_member(fx_client, fx_tenant)
    b = fx_other_tenant.headers
    attempts = {
        "get bot": fx_client.get(f"/api/v1/chatbots/{bot['id']}", headers=b),
        "patch bot": fx_client.patch(
            f"/api/v1/chatbots/{bot['id']}", headers=b, json={"name": "Mine"}
        ),
        "delete bot": fx_client.delete(f"/api/v1/chatbots/{bot['id']}", headers=b),
        "rotate key": fx_client.post(f"/api/v1/chatbots/{bot['id']}/rotate-key", headers=b),
        "snippet": fx_client.get(f"/api/v1/chatbots/{bot['id']}/snippet", headers=b),
        "delete user": fx_client.delete(f"/api/v1/users/{member.user_id}", headers=b),
        "delete owner": fx_client.delete(f"/api/v1/users/{fx_tenant.user_id}", headers=b),
    }
    assert {name: r.status_code for name, r in attempts.items()} == dict.fromkeys(attempts, 404)
    assert all("Helper" not in r.text and bot["api_key"] not in r.text for r in attempts.values())
    assert fx_client.get("/api/v1/chatbots", headers=b).json() == []
    assert {u["id"] for u in fx_client.get("/api/v1/users", headers=b).json()} == {
        fx_other_tenant.user_id
    }
    # A's bot and member are untouched.
    assert (
        fx_client.get(f"/api/v1/chatbots/{bot['id']}", headers=fx_tenant.headers).json()["name"]
        == "Helper"
    )
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 200
    assert fx_client.get("/api/v1/auth/me", headers=member.headers).status_code == 200


def test_b_key_cannot_reach_a_bot(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_other_tenant: Tenant
) -> None:
    a_bot = create_bot(fx_client, fx_tenant)
    b_bot = create_bot(fx_client, fx_other_tenant)
    assert public_get(fx_client, a_bot["id"], b_bot["api_key"]).status_code == 404


@pytest.mark.parametrize("status", [CustomerStatus.suspended])
def test_suspension_stops_tokens_and_keys_at_once(
    fx_server: LiveServer,
    fx_client: httpx.Client,
    fx_tenant: Tenant,
    fx_other_tenant: Tenant,
    status: CustomerStatus,
) -> None:
    import uuid

    bot = create_bot(fx_client, fx_tenant)
    fx_server.run(accounts.set_status(uuid.UUID(fx_tenant.customer_id), status))
    assert fx_client.get("/api/v1/chatbots", headers=fx_tenant.headers).status_code == 403
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 403
    login = fx_client.post(
        "/api/v1/auth/login", json={"email": fx_tenant.email, "password": "Sup3r-secret-pass"}
    )
    assert login.status_code == 403
    assert fx_client.get("/api/v1/chatbots", headers=fx_other_tenant.headers).status_code == 200

    fx_server.run(accounts.set_status(uuid.UUID(fx_tenant.customer_id), CustomerStatus.active))
    assert fx_client.get("/api/v1/chatbots", headers=fx_tenant.headers).status_code == 200
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 200
