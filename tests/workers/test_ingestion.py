"""Ingestion under failure and load: a killed worker, and fairness between customers."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import httpx

from core.resources import vector_store_for
from core.settings import get_settings
from tests.support.knowledge import document, make_bot, prose, upload, wait_for
from tests.support.server import LiveServer
from tests.support.tenants import Tenant
from tests.support.worker import WorkerProcess

QUEUES = ("ingest", "ingest-bulk")
# Requeue a dead worker's messages after 2 s and check for them on every fetch.
FAST_RECOVERY = {
    "BOTFLEET_BROKER_HEARTBEAT_TIMEOUT_MS": "2000",
    "BOTFLEET_BROKER_MAINTENANCE_CHANCE": "1000000",
    "BOTFLEET_INGEST_BATCH_SIZE": "8",
}


def _vector_count(customer_id: str, bot_id: str) -> int:
    store = vector_store_for(get_settings())
    try:
        return store.count(uuid.UUID(customer_id), uuid.UUID(bot_id))
    finally:
        store.close()


def test_a_killed_worker_is_retried_to_exactly_the_right_chunks(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    from tables.billing import UsageEvent
    from tables.knowledge import DocumentChunk

    bot = make_bot(fx_client, fx_tenant)
    doc = upload(fx_client, fx_tenant, bot, "long.txt", prose(12_000, 7).encode()).json()
    first = WorkerProcess(QUEUES, threads=1, **FAST_RECOVERY).start()
    try:
        deadline = time.monotonic() + 120
        while (state := document(fx_client, fx_tenant, bot, doc["id"]))["progress"] < 20:
            assert state["status"] in ("queued", "processing"), state
            assert time.monotonic() < deadline, "ingestion never got going"
            time.sleep(0.05)
    finally:
        first.kill()
    assert document(fx_client, fx_tenant, bot, doc["id"])["status"] == "processing"

    with WorkerProcess(QUEUES, threads=1, **FAST_RECOVERY):
        ready = wait_for(fx_client, fx_tenant, bot, doc["id"], timeout=180)

    chunks = fx_server.run(
        DocumentChunk.select(DocumentChunk.ordinal).where(DocumentChunk.document == doc["id"])
    )
    ordinals = sorted(row["ordinal"] for row in chunks)
    assert ready["chunk_count"] == len(ordinals) > 20
    assert ordinals == list(range(len(ordinals)))
    assert _vector_count(fx_tenant.customer_id, bot) == len(ordinals)
    events = fx_server.run(
        UsageEvent.count().where(UsageEvent.idempotency_key == f"embedding:{doc['id']}:0")
    )
    assert events == 1


def test_one_customers_backlog_does_not_starve_another(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_other_tenant: Tenant
) -> None:
    """A queues 30 documents, then B queues one; B's is ready while most of A's still wait."""
    a_bot, b_bot = make_bot(fx_client, fx_tenant), make_bot(fx_client, fx_other_tenant)
    a_docs = [
        upload(fx_client, fx_tenant, a_bot, f"a{i}.txt", prose(150, 100 + i).encode()).json()["id"]
        for i in range(30)
    ]
    b_doc = upload(fx_client, fx_other_tenant, b_bot, "b.txt", prose(150, 999).encode()).json()[
        "id"
    ]
    with WorkerProcess(QUEUES, threads=1):
        b_ready = wait_for(fx_client, fx_other_tenant, b_bot, b_doc, timeout=180)
        a_ready = [wait_for(fx_client, fx_tenant, a_bot, d, timeout=180) for d in a_docs]
    # Ready times, not a poll: how many of A's documents were still waiting when B's was done.
    b_done = datetime.fromisoformat(b_ready["ingested_at"])
    after_b = sum(datetime.fromisoformat(doc["ingested_at"]) > b_done for doc in a_ready)
    assert after_b >= 20, f"only {after_b} of A's 30 documents were behind B's single upload"
