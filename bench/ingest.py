"""Ingestion throughput: upload -> ready through the real API and worker, against raw encode.

Runs `botfleet dev` in a temporary data directory, warms the worker with a small document,
then uploads a generated ~500 KB text and times it until `ready`. The baseline is the same
document's chunks encoded directly with the same model in this process. Prints figures and
ratios, not pass/fail. Usage: python bench/ingest.py [--kb 500]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

WORDS = [
    "river",
    "mountain",
    "copper",
    "lantern",
    "harbor",
    "meadow",
    "violet",
    "engine",
    "saddle",
    "orchard",
    "velvet",
    "quarry",
    "tundra",
    "garnet",
    "falcon",
    "pepper",
    "walnut",
    "marble",
    "cobalt",
    "thistle",
    "canyon",
    "ember",
    "glacier",
    "prairie",
    "customer",
    "order",
    "invoice",
    "shipping",
    "warranty",
    "refund",
    "delivery",
    "account",
    "password",
    "payment",
    "receipt",
    "support",
]


def generate(kb: int, seed: int = 42) -> str:
    rng = random.Random(seed)
    parts, size = [], 0
    while size < kb * 1024:
        sentence = (
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))).capitalize() + ". "
        )
        if rng.random() < 0.1:
            sentence += "\n\n"
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(
    client: httpx.Client, headers: dict, bot: str, doc: str, timeout: float = 600
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/v1/chatbots/{bot}/documents/{doc}", headers=headers).json()
        if state["status"] in ("ready", "failed"):
            return state
        time.sleep(0.05)
    raise TimeoutError("document not ready")


def end_to_end(text: str, data_dir: Path) -> tuple[float, dict]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(BOTFLEET_DATA_DIR=str(data_dir), BOTFLEET_LOG_LEVEL="WARNING")
    dev = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "dev", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("botfleet dev did not start")
                time.sleep(0.2)
            account = {
                "email": "bench@example.com",
                "password": "Bench-pass1",
                "name": "B",
                "company": "Bench",
            }
            token = client.post("/api/v1/auth/register", json=account).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            bot = client.post("/api/v1/chatbots", headers=headers, json={"name": "bench"}).json()[
                "id"
            ]
            url = f"/api/v1/chatbots/{bot}/documents"
            warm = client.post(
                url, headers=headers, files={"file": ("warm.txt", b"warm up the model")}
            ).json()
            wait_ready(client, headers, bot, warm["id"])
            started = time.perf_counter()
            doc = client.post(
                url, headers=headers, files={"file": ("bench.txt", text.encode())}
            ).json()
            state = wait_ready(client, headers, bot, doc["id"])
            return time.perf_counter() - started, state
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(timeout=60)


def raw_encode(text: str) -> tuple[float, int]:
    from core.embeddings import build_embedder, local_tokenizer
    from core.ingest import chunk
    from core.knowledge.ingestion import CHUNK_OVERLAP, CHUNK_TOKENS

    pieces = [
        c.text for c in chunk(text, local_tokenizer(), CHUNK_TOKENS, CHUNK_OVERLAP, kind="txt")
    ]
    embedder = build_embedder(provider="local")
    embedder.embed_documents(pieces[:8])  # warm up, like the worker
    started = time.perf_counter()
    for start in range(0, len(pieces), 64):
        embedder.embed_documents(pieces[start : start + 64])
    return time.perf_counter() - started, len(pieces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=int, default=500)
    args = parser.parse_args()
    text = generate(args.kb)
    with tempfile.TemporaryDirectory(prefix="botfleet-bench-") as tmp:
        seconds, state = end_to_end(text, Path(tmp) / "var")
    raw_seconds, raw_chunks = raw_encode(text)
    e2e_rate = state["chunk_count"] / seconds
    raw_rate = raw_chunks / raw_seconds
    print(
        f"document: {len(text) / 1024:.0f} KB, {state['chunk_count']} chunks, status {state['status']}"
    )
    print(f"end to end (upload -> ready): {seconds:.2f} s, {e2e_rate:.1f} chunks/s")
    print(f"raw encode of the same chunks: {raw_seconds:.2f} s, {raw_rate:.1f} chunks/s")
    print(f"ratio end-to-end / raw: {e2e_rate / raw_rate:.2f} (target >= 0.85; <= 30 s to ready)")


if __name__ == "__main__":
    main()
