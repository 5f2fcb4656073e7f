"""Uploading documents and waiting for their ingestion, through the real API."""

from __future__ import annotations

import random
import time

import httpx

from tests.support.tenants import Tenant

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
]


def make_bot(client: httpx.Client, tenant: Tenant, name: str = "Docs bot") -> str:
    response = client.post("/api/v1/chatbots", headers=tenant.headers, json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(
    client: httpx.Client,
    tenant: Tenant,
    bot_id: str,
    filename: str,
    content: bytes,
    content_type: str = "text/plain",
) -> httpx.Response:
    return client.post(
        f"/api/v1/chatbots/{bot_id}/documents",
        headers=tenant.headers,
        files={"file": (filename, content, content_type)},
    )


def document(client: httpx.Client, tenant: Tenant, bot_id: str, doc_id: str) -> dict:
    response = client.get(f"/api/v1/chatbots/{bot_id}/documents/{doc_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(
    client: httpx.Client,
    tenant: Tenant,
    bot_id: str,
    doc_id: str,
    statuses: tuple[str, ...] = ("ready",),
    timeout: float = 120,
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = document(client, tenant, bot_id, doc_id)
        if doc["status"] in statuses:
            return doc
        assert doc["status"] not in ("failed", "cancelled") or doc["status"] in statuses, doc
        assert time.monotonic() < deadline, f"document stuck at {doc['status']} {doc['progress']}%"
        time.sleep(0.1)


def prose(words: int, seed: int) -> str:
    rng = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
        sentences.append(sentence.capitalize() + ".")
    return " ".join(sentences)
