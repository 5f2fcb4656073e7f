"""Chatbots, their API keys and the embed snippet, as a customer uses them."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.support.server import LiveServer
from tests.support.tenants import Tenant


def create_bot(client: httpx.Client, tenant: Tenant, **fields: object) -> dict:
    response = client.post(
        "/api/v1/chatbots", headers=tenant.headers, json={"name": "Helper", **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


def public_get(client: httpx.Client, bot_id: str, key: str | None) -> httpx.Response:
    headers = {"X-API-Key": key} if key is not None else {}
    return client.get(f"/api/v1/public/chatbots/{bot_id}", headers=headers)


def test_create_answers_the_key_once(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    bot = create_bot(
        fx_client,
        fx_tenant,
        system_prompt="Be kind.",
        allowed_origins=["https://Shop.example.com/"],
    )
    assert bot["api_key"].startswith("bf_live_")
    assert bot["demo_message_limit"] == 10 and bot["memory_enabled"] is True
    assert bot["allowed_origins"] == ["https://shop.example.com"]
    fetched = fx_client.get(f"/api/v1/chatbots/{bot['id']}", headers=fx_tenant.headers).json()
    listed = fx_client.get("/api/v1/chatbots", headers=fx_tenant.headers).json()
    assert "api_key" not in fetched
    assert fetched["allowed_origins"] == ["https://shop.example.com"]
    assert listed[0]["allowed_origins"] == ["https://shop.example.com"]
    assert [b["id"] for b in listed] == [bot["id"]]
    assert all("api_key" not in b for b in listed)
    assert public_get(fx_client, bot["id"], bot["api_key"]).json()["name"] == "Helper"


def test_only_a_hash_of_the_key_is_stored(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    from tables.tenancy import ApiKey

    bot = create_bot(fx_client, fx_tenant)
    rows = fx_server.run(ApiKey.select().where(ApiKey.chatbot == bot["id"]))
    assert len(rows) == 1
    assert rows[0]["secret_hash"] == hashlib.sha256(bot["api_key"].encode()).hexdigest()
    assert bot["api_key"] not in str(rows)


def test_patch_changes_only_what_is_sent(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    bot = create_bot(fx_client, fx_tenant, description="old", temperature=0.2)
    response = fx_client.patch(
        f"/api/v1/chatbots/{bot['id']}",
        headers=fx_tenant.headers,
        json={"temperature": 1.5, "memory_enabled": False},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["temperature"] == 1.5 and changed["memory_enabled"] is False
    assert changed["description"] == "old" and changed["name"] == "Helper"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "temperature": 2.5}, "temperature"),
        ({"name": "ok", "temperature": "hot"}, "temperature"),
        ({"name": "ok", "max_tokens": 0}, "max_tokens"),
        ({"name": "ok", "demo_message_limit": -1}, "demo_message_limit"),
        ({"name": "ok", "allowed_origins": ["javascript:alert(1)"]}, "allowed_origins"),
        ({"name": "ok", "allowed_origins": "https://a.example"}, "allowed_origins"),
        ({"name": "ok", "colour": "blue"}, "colour"),
        ({"name": "ok", "system_prompt": "p" * 16_001}, "system_prompt"),
    ],
)
def test_bad_chatbot_input_names_the_field(
    fx_client: httpx.Client, fx_tenant: Tenant, body: dict, field: str
) -> None:
    response = fx_client.post("/api/v1/chatbots", headers=fx_tenant.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]
    assert fx_client.get("/api/v1/chatbots", headers=fx_tenant.headers).json() == []


@pytest.mark.parametrize("path", ["/api/v1/chatbots/not-a-uuid", "/api/v1/chatbots/123/snippet"])
def test_malformed_ids_are_400_naming_the_field(
    fx_client: httpx.Client, fx_tenant: Tenant, path: str
) -> None:
    response = fx_client.get(path, headers=fx_tenant.headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "chatbot_id" in response.json()["detail"]


def test_rotation_rejects_the_old_key(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    bot = create_bot(fx_client, fx_tenant)
    rotated = fx_client.post(f"/api/v1/chatbots/{bot['id']}/rotate-key", headers=fx_tenant.headers)
    assert rotated.status_code == 200
    new_key = rotated.json()["api_key"]
    assert new_key != bot["api_key"] and new_key.startswith("bf_live_")
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 401
    assert public_get(fx_client, bot["id"], new_key).status_code == 200


@pytest.mark.parametrize("key", [None, "", "nonsense", "bf_live_short", "bf_live_" + "x" * 43])
def test_bad_keys_are_401(fx_client: httpx.Client, fx_tenant: Tenant, key: str | None) -> None:
    bot = create_bot(fx_client, fx_tenant)
    response = public_get(fx_client, bot["id"], key)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_key_works_only_for_its_own_bot(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    first, second = create_bot(fx_client, fx_tenant), create_bot(fx_client, fx_tenant, name="Other")
    assert public_get(fx_client, second["id"], first["api_key"]).status_code == 404


def test_soft_delete_hides_the_bot_everywhere(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    bot = create_bot(fx_client, fx_tenant)
    assert (
        fx_client.delete(f"/api/v1/chatbots/{bot['id']}", headers=fx_tenant.headers).status_code
        == 204
    )
    assert (
        fx_client.get(f"/api/v1/chatbots/{bot['id']}", headers=fx_tenant.headers).status_code == 404
    )
    assert fx_client.get("/api/v1/chatbots", headers=fx_tenant.headers).json() == []
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 401
    assert (
        fx_client.delete(f"/api/v1/chatbots/{bot['id']}", headers=fx_tenant.headers).status_code
        == 404
    )
    rotate = fx_client.post(f"/api/v1/chatbots/{bot['id']}/rotate-key", headers=fx_tenant.headers)
    assert rotate.status_code == 404


def test_snippet_is_a_script_tag_with_a_stable_url(
    fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = create_bot(fx_client, fx_tenant, name='"><script>alert(1)</script>')
    first = fx_client.get(
        f"/api/v1/chatbots/{bot['id']}/snippet", headers=fx_tenant.headers
    ).json()["html"]
    again = fx_client.get(
        f"/api/v1/chatbots/{bot['id']}/snippet", headers=fx_tenant.headers
    ).json()["html"]
    assert first == again
    assert first.startswith('<script src="https://bots.example.test/widget/v1/botfleet.js"')
    assert f'data-botfleet-chatbot="{bot["id"]}"' in first
    assert "alert(1)" not in first


def test_last_used_is_recorded(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    from tables.tenancy import ApiKey

    bot = create_bot(fx_client, fx_tenant)
    assert public_get(fx_client, bot["id"], bot["api_key"]).status_code == 200
    row = fx_server.run(ApiKey.select(ApiKey.last_used).where(ApiKey.chatbot == bot["id"]).first())
    assert row["last_used"] is not None
