"""Streaming answers: Server-Sent Events and WebSocket, and a client that hangs up."""

from __future__ import annotations

import json
import time

import httpx
from websockets.sync.client import connect

from tests.api.chat.conftest import ShopBot
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support.server import LiveServer


def sse_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            events.append((name, json.loads(line.split(":", 1)[1].strip())))
            name = None
    return events


def test_sse_streams_tokens_then_done(
    fx_client: httpx.Client, fx_shop: ShopBot, fx_llm: FakeOpenAI
) -> None:
    fx_llm.push("Two years of warranty cover the pump [1].")
    body = {"message": "What does the warranty cover?"}
    with fx_client.stream(
        "POST", fx_shop.url("/chat/stream"), headers=fx_shop.key_headers, json=body
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"token"} and len(names) > 2
    text = "".join(data["delta"] for name, data in events if name == "token")
    assert text == "Two years of warranty cover the pump [1]."
    done = events[-1][1]
    assert (
        done["usage"]["total_tokens"]
        == done["usage"]["prompt_tokens"] + done["usage"]["completion_tokens"]
        > 0
    )
    assert [c["filename"] for c in done["citations"]] == ["warranty.txt"]
    assert done["provider"] == "fake"
    stored = fx_client.get(
        fx_shop.url(f"/sessions/{done['session_id']}/messages"), headers=fx_shop.key_headers
    )
    assert stored.json()["items"][-1] == {
        **stored.json()["items"][-1],
        "id": done["message_id"],
        "content": text,
    }


def test_sse_reports_errors_as_events(
    fx_client: httpx.Client, fx_shop: ShopBot, fx_llm: FakeOpenAI
) -> None:
    fx_llm.push(Reply(status=500))
    with fx_client.stream(
        "POST", fx_shop.url("/chat/stream"), headers=fx_shop.key_headers, json={"message": "hi"}
    ) as r:
        events = sse_events(r)
    assert [name for name, _ in events] == ["error"]
    assert "unavailable" in events[0][1]["detail"]
    bad = fx_client.post(
        fx_shop.url("/chat/stream"), headers=fx_shop.key_headers, json={"message": ""}
    )
    assert bad.status_code == 400


def test_websocket_speaks_the_same_events(
    fx_server: LiveServer, fx_shop: ShopBot, fx_llm: FakeOpenAI
) -> None:
    fx_llm.push("Parcels arrive within four working days [1].")
    url = fx_server.base_url.replace("http", "ws") + fx_shop.url("/ws")
    with connect(url, additional_headers=fx_shop.key_headers) as socket:
        socket.send(json.dumps({"message": "How long does shipping take?"}))
        events = []
        while not events or events[-1]["type"] not in ("done", "error"):
            events.append(json.loads(socket.recv(timeout=60)))
        assert (
            "".join(e["delta"] for e in events if e["type"] == "token")
            == "Parcels arrive within four working days [1]."
        )
        assert events[-1]["citations"][0]["filename"] == "shipping.txt"
        session = events[-1]["session_id"]
        socket.send("not json")
        assert json.loads(socket.recv(timeout=10))["status"] == 400
        socket.send(json.dumps({"message": "and to Norway?", "session_id": session}))
        follow = []
        while not follow or follow[-1]["type"] not in ("done", "error"):
            follow.append(json.loads(socket.recv(timeout=60)))
        assert follow[-1]["session_id"] == session
    with connect(
        url.replace("/ws", "/ws") + "?api_key=bf_live_wrong_key_000000000000000000"
    ) as socket:
        refused = json.loads(socket.recv(timeout=10))
        assert refused["type"] == "error" and refused["status"] == 401


def test_a_client_that_hangs_up_still_gets_its_partial_answer_stored(
    fx_server: LiveServer, fx_client: httpx.Client, fx_shop: ShopBot, fx_llm: FakeOpenAI
) -> None:
    from tables.billing import UsageEvent

    long_answer = " ".join(f"word{n}" for n in range(200))
    first = fx_client.post(
        fx_shop.url("/chat"), headers=fx_shop.key_headers, json={"message": "start"}
    ).json()
    fx_llm.push(Reply(text=long_answer, chunk_delay=0.05))
    session = first["session_id"]
    body = {"message": "tell me everything", "session_id": session}
    with fx_client.stream(
        "POST", fx_shop.url("/chat/stream"), headers=fx_shop.key_headers, json=body
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and "delta" in line:
                break  # the client goes away after the first token

    deadline = time.monotonic() + 30
    while True:
        items = fx_client.get(
            fx_shop.url(f"/sessions/{session}/messages"), headers=fx_shop.key_headers
        ).json()["items"]
        if len(items) == 4:
            break
        assert time.monotonic() < deadline, "the partial answer was never stored"
        time.sleep(0.2)
    partial = items[-1]
    assert partial["role"] == "assistant"
    assert 0 < len(partial["content"]) < len(long_answer) and long_answer.startswith(
        partial["content"]
    )
    event = fx_server.run(
        UsageEvent.objects().where(UsageEvent.idempotency_key == f"chat:{partial['id']}").first()
    )
    assert event is not None and event.estimated and event.output_tokens > 0


def test_a_websocket_that_closes_mid_answer_still_gets_it_stored(
    fx_server: LiveServer, fx_client: httpx.Client, fx_shop: ShopBot, fx_llm: FakeOpenAI
) -> None:
    from tables.billing import UsageEvent

    def partial_events() -> list[dict]:
        return fx_server.run(
            UsageEvent.select(UsageEvent.output_tokens)
            .where(UsageEvent.customer == fx_shop.tenant.customer_id, UsageEvent.estimated.eq(True))
            .order_by(UsageEvent.created_at)
        )

    before = len(partial_events())
    long_answer = " ".join(f"piece{n}" for n in range(200))
    fx_llm.push(Reply(text=long_answer, chunk_delay=0.05))
    url = fx_server.base_url.replace("http", "ws") + fx_shop.url("/ws")
    with connect(url, additional_headers=fx_shop.key_headers) as socket:
        socket.send(json.dumps({"message": "tell me a long story"}))
        assert json.loads(socket.recv(timeout=60))["type"] == "token"
    # The socket is closed after one token: the answer is stored and metered where it was cut.
    deadline = time.monotonic() + 30
    while len(events := partial_events()) == before:
        assert time.monotonic() < deadline, "the partial answer was never stored"
        time.sleep(0.2)
    assert len(events) == before + 1
    assert 0 < events[-1]["output_tokens"] < 200
