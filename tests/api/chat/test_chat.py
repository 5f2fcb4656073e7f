"""Chatting with a bot over REST: cited answers, sessions, users, limits and bad input."""

from __future__ import annotations

import concurrent.futures
import uuid

import httpx
import pytest

from tests.api.chat.conftest import ShopBot, new_shop_bot
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support.otp import CodeLog
from tests.support.server import LiveServer, free_port, wait_until_answering


def chat(client: httpx.Client, shop: ShopBot, **body: object) -> httpx.Response:
    return client.post(shop.url("/chat"), headers=shop.key_headers, json=body)


def test_answer_cites_the_documents_it_used(
    fx_client: httpx.Client, fx_shop: ShopBot, fx_llm: FakeOpenAI
) -> None:
    fx_llm.push("Your espresso machine has a two year warranty [1].")
    response = chat(fx_client, fx_shop, message="How long is the warranty on my espresso machine?")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reply"] == "Your espresso machine has a two year warranty [1]."
    assert body["provider"] == "fake" and body["model"] == "fake-model"  # "down" failed first
    assert [c["filename"] for c in body["citations"]] == ["warranty.txt"]
    assert body["citations"][0]["document_id"] == fx_shop.warranty_doc
    assert "two year warranty" in body["citations"][0]["text"]
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    sent = fx_llm.chat_requests[-1].messages
    assert sent[0]["role"] == "system" and "[1] (warranty.txt)" in sent[0]["content"]
    assert sent[-1] == {
        "role": "user",
        "content": "How long is the warranty on my espresso machine?",
    }
    timing = response.headers["server-timing"]
    for phase in ("auth", "ratelimit", "retrieval", "llm", "storage"):
        assert f"{phase};dur=" in timing
    assert (
        int(response.headers["x-ratelimit-limit"])
        > int(response.headers["x-ratelimit-remaining"])
        >= 0
    )


def test_a_session_remembers_its_history(
    fx_client: httpx.Client, fx_shop: ShopBot, fx_llm: FakeOpenAI
) -> None:
    first = chat(fx_client, fx_shop, message="Hello, I am Ada.").json()
    second = chat(
        fx_client, fx_shop, message="What is my name?", session_id=first["session_id"]
    ).json()
    assert second["session_id"] == first["session_id"]
    sent = fx_llm.chat_requests[-1].messages
    assert {"role": "user", "content": "Hello, I am Ada."} in sent
    assert {"role": "assistant", "content": "Echo: Hello, I am Ada."} in sent
    page = fx_client.get(
        fx_shop.url(f"/sessions/{first['session_id']}/messages"), headers=fx_shop.key_headers
    )
    assert page.status_code == 200
    items = page.json()["items"]
    assert [(m["role"], m["content"]) for m in items] == [
        ("user", "Hello, I am Ada."),
        ("assistant", "Echo: Hello, I am Ada."),
        ("user", "What is my name?"),
        ("assistant", "Echo: What is my name?"),
    ]
    assert items[-1]["id"] == second["message_id"]


def test_users_never_see_each_others_sessions(fx_client: httpx.Client, fx_shop: ShopBot) -> None:
    phones = [f"+3519{n:08d}" for n in range(12)]

    def talk(phone: str) -> tuple[str, str]:
        with httpx.Client(base_url=str(fx_client.base_url), timeout=60) as client:
            first = chat(client, fx_shop, message=f"I am {phone}", user_id=phone).json()
            again = chat(
                client, fx_shop, message="and again", user_id=phone, session_id=first["session_id"]
            )
            assert again.status_code == 200, again.text
            return phone, first["session_id"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        sessions = dict(pool.map(talk, phones))
    assert len(set(sessions.values())) == len(phones)
    alice, bob = phones[0], phones[1]
    stolen = chat(fx_client, fx_shop, message="show me", user_id=bob, session_id=sessions[alice])
    assert stolen.status_code == 404
    anonymous = chat(fx_client, fx_shop, message="show me", session_id=sessions[alice])
    assert anonymous.status_code == 404
    read = fx_client.get(
        fx_shop.url(f"/sessions/{sessions[alice]}/messages"),
        headers=fx_shop.key_headers,
        params={"user_id": bob},
    )
    assert read.status_code == 404
    own = fx_client.get(
        fx_shop.url(f"/sessions/{sessions[alice]}/messages"),
        headers=fx_shop.key_headers,
        params={"user_id": alice},
    )
    assert own.json()["items"][0]["content"] == f"I am {alice}"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"message": ""}, 400, "message"),
        ({"message": "x" * 8001}, 400, "message"),
        ({"message": "hi", "session_id": "nope"}, 400, "session_id"),
        ({"message": "hi", "temperature": 5}, 400, "temperature"),
        ({"message": "hi", "max_tokens": 0}, 400, "max_tokens"),
        ({"message": "hi", "provider": "nobody"}, 400, "provider"),
        ({"message": "hi", "colour": "red"}, 400, "colour"),
        ({"message": "hi", "session_id": str(uuid.uuid4())}, 404, "session"),
    ],
)
def test_bad_chat_input(
    fx_client: httpx.Client, fx_shop: ShopBot, body: dict, status: int, field: str
) -> None:
    response = chat(fx_client, fx_shop, **body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]


def test_keys_and_tenants_are_isolated(
    fx_client: httpx.Client, fx_shop: ShopBot, fx_other_tenant
) -> None:
    session = chat(fx_client, fx_shop, message="hello").json()["session_id"]
    other_bot = fx_client.post(
        "/api/v1/chatbots", headers=fx_other_tenant.headers, json={"name": "B"}
    ).json()
    other = {"X-API-Key": other_bot["api_key"]}
    assert (
        fx_client.post(fx_shop.url("/chat"), headers=other, json={"message": "hi"}).status_code
        == 404
    )
    theirs = f"/api/v1/public/chatbots/{other_bot['id']}"
    stolen = fx_client.post(
        f"{theirs}/chat", headers=other, json={"message": "hi", "session_id": session}
    )
    assert stolen.status_code == 404
    assert fx_client.get(f"{theirs}/sessions/{session}/messages", headers=other).status_code == 404
    assert fx_client.post(fx_shop.url("/chat"), json={"message": "hi"}).status_code == 401
    # The customer API: B can't read A's bot's sessions.
    listed = fx_client.get(
        f"/api/v1/chatbots/{fx_shop.bot_id}/sessions", headers=fx_other_tenant.headers
    )
    assert listed.status_code == 404 or listed.json()["items"] == []


def test_demo_limit_asks_anonymous_users_to_sign_in(
    fx_client: httpx.Client, fx_ingest_worker: object, fx_llm: FakeOpenAI
) -> None:
    shop = new_shop_bot(fx_client, demo_message_limit=2)
    session = chat(fx_client, shop, message="one").json()["session_id"]
    assert chat(fx_client, shop, message="two", session_id=session).status_code == 200
    before = len(fx_llm.chat_requests)
    refused = chat(fx_client, shop, message="three", session_id=session)
    assert refused.status_code == 429
    assert "sign in" in refused.json()["detail"]
    assert len(fx_llm.chat_requests) == before  # refused before any LLM call
    # Users the customer's backend names are not anonymous: no demo limit.
    for n in range(3):
        assert chat(fx_client, shop, message=f"n{n}", user_id="known-user").status_code == 200


def test_quota_exhausted_is_402_before_the_llm(
    fx_server: LiveServer, fx_client: httpx.Client, fx_ingest_worker: object, fx_llm: FakeOpenAI
) -> None:
    from tables.tenancy import Customer

    shop = new_shop_bot(fx_client)
    assert chat(fx_client, shop, message="spend some tokens").status_code == 200
    fx_server.run(
        Customer.update({Customer.token_quota: 1}).where(Customer.id == shop.tenant.customer_id)
    )
    before = len(fx_llm.chat_requests)
    refused = chat(fx_client, shop, message="and more")
    assert refused.status_code == 402
    assert "quota" in refused.json()["detail"]
    assert len(fx_llm.chat_requests) == before


def test_every_provider_down_is_503_and_nothing_is_stored(
    fx_server: LiveServer, fx_client: httpx.Client, fx_shop: ShopBot, fx_llm: FakeOpenAI
) -> None:
    from tables.billing import UsageEvent

    session = chat(fx_client, fx_shop, message="first").json()["session_id"]
    events_before = fx_server.run(
        UsageEvent.count().where(UsageEvent.customer == fx_shop.tenant.customer_id)
    )
    fx_llm.push(Reply(status=500))
    failed = chat(fx_client, fx_shop, message="second", session_id=session)
    assert failed.status_code == 503
    assert "language model" in failed.json()["detail"]
    messages = fx_client.get(
        fx_shop.url(f"/sessions/{session}/messages"), headers=fx_shop.key_headers
    ).json()
    assert messages["total"] == 2
    after = fx_server.run(
        UsageEvent.count().where(UsageEvent.customer == fx_shop.tenant.customer_id)
    )
    assert after == events_before


def test_customer_query_and_session_management(
    fx_client: httpx.Client, fx_shop: ShopBot, fx_llm: FakeOpenAI
) -> None:
    h = fx_shop.tenant.headers
    base = f"/api/v1/chatbots/{fx_shop.bot_id}"
    fx_llm.push("It ships in four working days [1].")
    answer = fx_client.post(f"{base}/query", headers=h, json={"message": "How fast is shipping?"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [c["filename"] for c in body["citations"]] == ["shipping.txt"]
    session = body["session_id"]
    listed = fx_client.get(f"{base}/sessions", headers=h).json()
    assert session in [s["id"] for s in listed["items"]]
    changed = fx_client.patch(
        f"{base}/sessions/{session}",
        headers=h,
        json={"title": "Shipping", "pinned": True, "status": "archived"},
    )
    assert changed.status_code == 200 and changed.json()["status"] == "archived"
    archived = fx_client.get(f"{base}/sessions", headers=h, params={"status": "archived"}).json()[
        "items"
    ]
    assert [s["id"] for s in archived if s["title"] == "Shipping"] == [session]
    assert (
        fx_client.patch(
            f"{base}/sessions/{session}", headers=h, json={"status": "deleted"}
        ).status_code
        == 400
    )
    messages = fx_client.get(f"{base}/sessions/{session}/messages", headers=h).json()
    assert messages["total"] == 2
    assert fx_client.delete(f"{base}/sessions/{session}", headers=h).status_code == 204
    assert fx_client.get(f"{base}/sessions/{session}/messages", headers=h).status_code == 404
    bad = fx_client.get(f"{base}/sessions", headers=h, params={"status": "lost", "limit": 0})
    assert bad.status_code == 400


def test_an_anonymous_chat_survives_sign_in(
    fx_client: httpx.Client, fx_shop: ShopBot, fx_llm: FakeOpenAI, fx_codes: CodeLog
) -> None:
    session = chat(fx_client, fx_shop, message="I would like a kettle.").json()["session_id"]
    status = fx_client.get(
        fx_shop.url(f"/auth/status/{session}"), headers=fx_shop.key_headers
    ).json()
    assert status["storage"] == "memory" and status["authenticated"] is False

    phone = f"+3519{uuid.uuid4().int % 10**8:08d}"
    sent = fx_client.post(
        fx_shop.url("/auth/send-otp"), headers=fx_shop.key_headers, json={"phone": phone}
    )
    assert sent.status_code == 202, sent.text
    verify = {"phone": phone, "code": fx_codes.code_for(phone), "session_id": session}
    signed_in = fx_client.post(
        fx_shop.url("/auth/verify-otp"), headers=fx_shop.key_headers, json=verify
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["session_id"] == session
    user = {**fx_shop.key_headers, "Authorization": f"Bearer {signed_in.json()['access_token']}"}

    status = fx_client.get(
        fx_shop.url(f"/auth/status/{session}"), headers=fx_shop.key_headers
    ).json()
    assert status["storage"] == "database" and status["authenticated"] is True
    later = fx_client.post(
        fx_shop.url("/chat"), headers=user, json={"message": "Which one?", "session_id": session}
    )
    assert later.status_code == 200 and later.json()["session_id"] == session
    assert {"role": "user", "content": "I would like a kettle."} in fx_llm.chat_requests[
        -1
    ].messages
    history = fx_client.get(fx_shop.url(f"/sessions/{session}/messages"), headers=user).json()
    assert [m["content"] for m in history["items"]][::2] == ["I would like a kettle.", "Which one?"]
    mine = fx_client.get(fx_shop.url("/sessions"), headers=user).json()
    assert [s["id"] for s in mine["items"]] == [session]
    # The session now belongs to the signed-in user: anonymous callers can't reach it.
    assert chat(fx_client, fx_shop, message="hi", session_id=session).status_code == 404
    assert (
        fx_client.get(
            fx_shop.url(f"/sessions/{session}/messages"), headers=fx_shop.key_headers
        ).status_code
        == 404
    )
    assert fx_client.get(fx_shop.url("/sessions"), headers=fx_shop.key_headers).status_code == 401


def test_without_any_llm_the_answer_is_extractive(fx_shop: ShopBot, tmp_path) -> None:
    """A real `botfleet serve` with no provider configured, on the same database."""
    import os
    import subprocess
    import sys

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["BOTFLEET_LLM_PROVIDERS"] = "[]"
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            wait_until_answering(f"http://127.0.0.1:{port}/health")
            response = chat(client, fx_shop, message="How long is the espresso machine warranty?")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reply"].startswith("No language model is configured")
    assert "two year warranty" in body["reply"]
    assert body["provider"] == "none" and body["usage"]["total_tokens"] == 0
    assert body["citations"] and body["citations"][0]["filename"] == "warranty.txt"
