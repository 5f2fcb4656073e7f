"""Chat throughput on loopback: `chat` against a bare `GET /health` in the same run.

A fake OpenAI-compatible LLM with zero latency, a chatbot with 10k chunks (random vectors:
the latency part doesn't need real ones), 16 concurrent clients for a fixed time each. The
API runs as `botfleet serve` (one process) in a temporary data directory. Prints requests/s
and p50/p99 for both, and the ratios. Usage: python bench/chat.py [--seconds 10] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.openai_server import FakeOpenAI

WORDS = [
    "warranty",
    "shipping",
    "refund",
    "espresso",
    "boiler",
    "parcel",
    "invoice",
    "account",
    "order",
    "delivery",
    "store",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def load(
    base: str,
    clients: int,
    seconds: float,
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    phases: dict[str, list[float]] | None = None,
) -> tuple[float, list[float]]:
    """Requests/s and latencies (ms); `phases` collects the Server-Timing durations."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await request(http, n)
                response.raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
                if phases is not None:
                    for part in response.headers.get("server-timing", "").split(","):
                        name, _, duration = part.strip().partition(";dur=")
                        if duration:
                            phases.setdefault(name, []).append(float(duration))

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return len(latencies) / (time.perf_counter() - started), latencies


def seed_chunks(data_dir: Path, customer: str, bot: str, count: int) -> None:
    """10k chunks of one document straight into the embedded store and the DB."""
    os.environ["BOTFLEET_DATA_DIR"] = str(data_dir)
    from core.settings import get_settings
    from core.vectors import ChunkRecord, open_vector_store

    settings = get_settings()
    store = open_vector_store(
        weaviate_url=None, weaviate_api_key=None, sqlite_path=settings.vectors_path, dimensions=384
    )
    document = uuid.uuid4()
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(count, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    text_rng = random.Random(7)
    records = [
        ChunkRecord(
            document,
            uuid.UUID(bot),
            i,
            " ".join(text_rng.choices(WORDS, k=40)),
            vectors[i].tolist(),
        )
        for i in range(count)
    ]
    for start in range(0, count, 1000):
        store.upsert(uuid.UUID(customer), records[start : start + 1000])
    store.close()
    from tables.knowledge import Document, DocumentStatus

    row = Document(  # the row search joins for the filename
        id=document,
        customer=uuid.UUID(customer),
        chatbot=uuid.UUID(bot),
        filename="bench.txt",
        kind="txt",
        sha256="0" * 64,
        dedupe_key=f"{bot}:bench",
        path="",
        status=DocumentStatus.ready,
        chunk_count=count,
    )
    asyncio.run(row.save().run())


async def run(seconds: float, clients: int, api_workers: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="botfleet-bench-") as tmp,
        FakeOpenAI(models=["bench"]) as llm,
    ):
        data_dir = Path(tmp) / "var"
        port = free_port()
        # DATABASE_URL / REDIS_URL are kept when set: the same bench on PostgreSQL and Redis.
        env = dict(os.environ)
        env.update(
            BOTFLEET_DATA_DIR=str(data_dir),
            BOTFLEET_LOG_LEVEL="WARNING",
            BOTFLEET_RATE_LIMIT_PER_KEY="100000000",
            BOTFLEET_RATE_LIMIT_PER_END_USER="100000000",
            BOTFLEET_LLM_PROVIDERS=json.dumps(
                [{"name": "fake", "base_url": llm.base_url, "models": ["bench"]}]
            ),
        )
        subprocess.run(
            [sys.executable, "-m", "api.cli", "migrate"], env=env, check=True, capture_output=True
        )
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(api_workers),
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                for _ in range(600):
                    try:
                        if (await http.get("/health")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.1)
                account = {
                    "email": "b@example.com",
                    "password": "Bench-pass1",
                    "name": "B",
                    "company": "Bench",
                }
                registered = (await http.post("/api/v1/auth/register", json=account)).json()
                headers = {"Authorization": f"Bearer {registered['access_token']}"}
                bot = (
                    await http.post("/api/v1/chatbots", headers=headers, json={"name": "bench"})
                ).json()
            await asyncio.to_thread(
                seed_chunks, data_dir, registered["customer"]["id"], bot["id"], 10_000
            )
            key = {"X-API-Key": bot["api_key"]}
            questions = [" ".join(random.Random(n).choices(WORDS, k=6)) + "?" for n in range(64)]

            sessions: dict[int, str] = {}

            async def chat(http: httpx.AsyncClient, n: int) -> httpx.Response:
                # Each client is one end user going on with their conversation.
                body = {"message": random.choice(questions), "user_id": f"client-{n}"}
                if n in sessions:
                    body["session_id"] = sessions[n]
                url = f"/api/v1/public/chatbots/{bot['id']}/chat"
                response = await http.post(url, headers=key, json=body)
                if response.status_code == 200:
                    sessions[n] = response.json()["session_id"]
                return response

            # Warm up: the model loads, every question's embedding is computed once.
            async with httpx.AsyncClient(base_url=base, timeout=120) as http:
                for n in range(len(questions)):
                    body = {"message": questions[n], "user_id": "warm"}
                    (
                        await http.post(
                            f"/api/v1/public/chatbots/{bot['id']}/chat", headers=key, json=body
                        )
                    ).raise_for_status()

            health_rps, health = await load(
                base, clients, seconds, lambda http, n: http.get("/health")
            )
            phases: dict[str, list[float]] = {}
            chat_rps, chats = await load(base, clients, seconds, chat, phases)
        finally:
            api.send_signal(signal.SIGTERM)
            api.wait(timeout=30)
    h50, h99 = percentile(health, 50), percentile(health, 99)
    c50, c99 = percentile(chats, 50), percentile(chats, 99)
    print(
        f"{clients} clients, {seconds:.0f} s each, {api_workers} API process(es), 10k chunks, zero-latency LLM"
    )
    print(f"GET /health : {health_rps:8.1f} req/s   p50 {h50:6.1f} ms   p99 {h99:6.1f} ms")
    print(f"POST chat   : {chat_rps:8.1f} req/s   p50 {c50:6.1f} ms   p99 {c99:6.1f} ms")
    print(f"ratio chat/health req/s: {chat_rps / health_rps:.3f}; p50 overhead {c50 - h50:.1f} ms")
    print(
        "chat Server-Timing p50: "
        + ", ".join(f"{k} {statistics.median(v):.1f} ms" for k, v in phases.items())
    )
    print("targets: >= 100 chat req/s, p50 overhead <= 25 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--api-workers", type=int, default=1, help="API processes (serve --workers)"
    )
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.clients, args.api_workers))


if __name__ == "__main__":
    main()
