"""Ingestion actors. Two lanes of one actor body make uploads fair between customers.

Fairness rule: a customer with more than `BULK_AFTER` documents queued sends new ones to
the `ingest-bulk` queue; everyone else uses `ingest`. A worker consumes both queues and
prefetches only a few messages from each, so one customer's 500 uploads sit in the bulk
lane while another customer's single upload enters the interactive lane and is picked up
after at most a prefetch window of bulk work.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import dramatiq
from dramatiq.middleware import CurrentMessage

from core.knowledge import ingestion
from workers.broker import broker  # noqa: F401 - binds the actors below to our broker
from workers.context import pipeline

logger = logging.getLogger("botfleet.workers.ingest")
BULK_AFTER = 2
MAX_RETRIES = 3
TIME_LIMIT_MS = 30 * 60 * 1000


def _run(document_id: str, generation: int) -> None:
    doc_id = uuid.UUID(document_id)
    try:
        asyncio.run(ingestion.ingest(doc_id, generation, pipeline()))
    except Exception:
        message = CurrentMessage.get_current_message()
        retries = message.options.get("retries", 0) if message else MAX_RETRIES
        if retries >= MAX_RETRIES:
            reason = "Ingestion failed repeatedly on our side; try reindexing the document."
            asyncio.run(ingestion.mark_failed(doc_id, generation, reason))
        raise


@dramatiq.actor(
    actor_name="ingest.document",
    queue_name="ingest",
    max_retries=MAX_RETRIES,
    time_limit=TIME_LIMIT_MS,
)
def ingest_document(document_id: str, generation: int) -> None:
    _run(document_id, generation)


@dramatiq.actor(
    actor_name="ingest.document_bulk",
    queue_name="ingest-bulk",
    max_retries=MAX_RETRIES,
    time_limit=TIME_LIMIT_MS,
)
def ingest_document_bulk(document_id: str, generation: int) -> None:
    _run(document_id, generation)


def enqueue(document_id: uuid.UUID, generation: int, waiting: int) -> None:
    """Call after the document row is committed; `waiting` = the customer's queued documents."""
    actor = ingest_document_bulk if waiting > BULK_AFTER else ingest_document
    actor.send(str(document_id), generation)
