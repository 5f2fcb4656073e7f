"""`botfleet reindex` rebuilds the vector store from the stored chunks."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx

from core.resources import vector_store_for
from core.settings import get_settings
from tests.support.knowledge import make_bot, prose, upload, wait_for
from tests.support.tenants import Tenant
from tests.support.worker import WorkerProcess


def _reindex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "reindex", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_reindex_restores_lost_vectors(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    bot = make_bot(fx_client, fx_tenant)
    with WorkerProcess(("ingest", "ingest-bulk")):
        doc = upload(fx_client, fx_tenant, bot, "kb.txt", prose(900, 11).encode()).json()
        ready = wait_for(fx_client, fx_tenant, bot, doc["id"])
    customer, chatbot = uuid.UUID(fx_tenant.customer_id), uuid.UUID(bot)
    store = vector_store_for(get_settings())
    try:
        store.delete_chatbot(customer, chatbot)
        assert store.count(customer, chatbot) == 0

        result = _reindex("--chatbot", bot)
        assert result.returncode == 0, result.stderr
        assert f"Reindexed 1 documents, {ready['chunk_count']} chunks." in result.stdout
        assert store.count(customer, chatbot) == ready["chunk_count"]
    finally:
        store.close()
    search = {"query": prose(12, 11), "mode": "vector", "limit": 1}
    hits = fx_client.post(f"/api/v1/chatbots/{bot}/search", headers=fx_tenant.headers, json=search)
    assert hits.json()[0]["document_id"] == doc["id"]


def test_reindex_with_nothing_to_do_says_so() -> None:
    result = _reindex("--customer", str(uuid.uuid4()))
    assert result.returncode == 0
    assert "no data" in result.stdout
    bad = _reindex("--chatbot", "not-a-uuid")
    assert bad.returncode == 2 and "not-a-uuid" in bad.stderr
