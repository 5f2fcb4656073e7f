"""`botfleet reindex`: rebuild the vector store from the stored chunks."""

from __future__ import annotations

import asyncio
import uuid

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


@click.command()
@click.option("--customer", "customer_id", type=click.UUID, help="Only this customer's documents.")
@click.option("--chatbot", "chatbot_id", type=click.UUID, help="Only this chatbot's documents.")
def reindex(customer_id: uuid.UUID | None, chatbot_id: uuid.UUID | None) -> None:
    """Re-embed every ready document's chunks into the configured vector store."""
    asyncio.run(_reindex(customer_id, chatbot_id))


async def _reindex(customer_id: uuid.UUID | None, chatbot_id: uuid.UUID | None) -> None:
    from core.knowledge.rebuild import documents_to_rebuild, rebuild_document
    from workers.context import pipeline

    documents = await documents_to_rebuild(customer_id, chatbot_id)
    if not documents:
        click.echo("no data: no ready documents match")
        return
    total = sum(document.chunk_count for document in documents)
    chunks = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as progress:
        task = progress.add_task("chunks", total=total)
        for document in documents:
            progress.update(task, description=document.filename[:40])
            chunks += await rebuild_document(
                document, pipeline(), on_chunks=lambda n: progress.advance(task, n)
            )
    click.echo(f"Reindexed {len(documents)} documents, {chunks} chunks.")
