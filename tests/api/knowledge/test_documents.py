"""Uploading documents: streaming, limits, sniffing, de-duplication, isolation."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from docx import Document as DocxDocument

from core.settings import get_settings
from tests.support.knowledge import make_bot, prose, upload, wait_for
from tests.support.server import LiveServer
from tests.support.tenants import Tenant, add_member
from tests.support.worker import WorkerProcess

INGEST_QUEUES = ("ingest", "ingest-bulk")


@pytest.fixture(scope="module")
def fx_worker(fx_server: LiveServer) -> Iterator[WorkerProcess]:
    with WorkerProcess(INGEST_QUEUES) as worker:
        yield worker


def _docx(text: str) -> bytes:
    buffer = io.BytesIO()
    document = DocxDocument()
    document.add_paragraph(text)
    document.save(buffer)
    return buffer.getvalue()


def test_upload_then_ready_with_counts(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_worker: WorkerProcess
) -> None:
    bot = make_bot(fx_client, fx_tenant)
    response = upload(fx_client, fx_tenant, bot, "guide.txt", prose(600, 1).encode())
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] in ("queued", "processing") and queued["kind"] == "txt"
    assert len(queued["sha256"]) == 64 and queued["error"] is None
    ready = wait_for(fx_client, fx_tenant, bot, queued["id"])
    assert ready["progress"] == 100 and ready["chunk_count"] > 1 and ready["token_count"] > 500
    listed = fx_client.get(f"/api/v1/chatbots/{bot}/documents", headers=fx_tenant.headers).json()
    assert [d["id"] for d in listed] == [queued["id"]]


def test_same_content_twice_is_the_same_document(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_worker: WorkerProcess
) -> None:
    bot = make_bot(fx_client, fx_tenant)
    content = prose(100, 2).encode()
    first = upload(fx_client, fx_tenant, bot, "a.txt", content)
    second = upload(fx_client, fx_tenant, bot, "renamed.md", content)
    assert first.status_code == 202 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    other_bot = make_bot(fx_client, fx_tenant, "Another")
    assert upload(fx_client, fx_tenant, other_bot, "a.txt", content).status_code == 202


def test_every_accepted_type_is_ingested(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_worker: WorkerProcess
) -> None:
    bot = make_bot(fx_client, fx_tenant)
    files = {
        "notes.md": b"# Opening hours\n\nWe open at nine and close at five.\n",
        "page.html": b"<html><body><h1>Returns</h1><p>Returns are free for thirty days.</p></body></html>",
        "prices.csv": b"item,price\ncoffee,3\ntea,2\n",
        "faq.json": b'{"question": "Do you ship abroad?", "answer": "Yes, to the EU."}',
        "policy.docx": _docx("Warranty lasts two years from purchase."),
    }
    ids = {}
    for name, content in files.items():
        response = upload(fx_client, fx_tenant, bot, name, content, "application/octet-stream")
        assert response.status_code == 202, (name, response.text)
        ids[name] = response.json()["id"]
    for name, doc_id in ids.items():
        assert wait_for(fx_client, fx_tenant, bot, doc_id)["chunk_count"] >= 1, name


@pytest.mark.parametrize(
    ("filename", "content", "status", "words"),
    [
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 100, 415, "unsupported"),
        ("fake.pdf", b"just text pretending", 415, "fake.pdf"),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 415, "PNG"),
        ("empty.txt", b"", 400, "empty"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_kept(
    fx_client: httpx.Client,
    fx_tenant: Tenant,
    filename: str,
    content: bytes,
    status: int,
    words: str,
) -> None:
    bot = make_bot(fx_client, fx_tenant)
    response = upload(fx_client, fx_tenant, bot, filename, content)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"]
    assert (
        fx_client.get(f"/api/v1/chatbots/{bot}/documents", headers=fx_tenant.headers).json() == []
    )
    folder = get_settings().uploads_dir / fx_tenant.customer_id / bot
    assert list(folder.iterdir()) == []


def test_too_large_is_413(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    bot = make_bot(fx_client, fx_tenant)
    limit = get_settings().max_upload_mb * 1024 * 1024
    response = upload(fx_client, fx_tenant, bot, "big.txt", b"a" * (limit + 1))
    assert response.status_code == 413
    assert "25 MB" in response.json()["detail"]
    folder = get_settings().uploads_dir / fx_tenant.customer_id / bot
    assert list(folder.iterdir()) == []


def test_malformed_uploads_are_400(fx_client: httpx.Client, fx_tenant: Tenant) -> None:
    bot = make_bot(fx_client, fx_tenant)
    url = f"/api/v1/chatbots/{bot}/documents"
    no_file = fx_client.post(
        url, headers=fx_tenant.headers, data={"note": "x"}, files={"other": ("a.txt", b"x")}
    )
    as_json = fx_client.post(url, headers=fx_tenant.headers, json={"file": "hello"})
    broken = fx_client.post(
        url,
        headers={**fx_tenant.headers, "content-type": "multipart/form-data; boundary=xyz"},
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhel',
    )
    for response in (no_file, as_json, broken):
        assert response.status_code == 400, response.text
        assert "file" in response.json()["detail"]


def test_other_customer_sees_404_and_member_may_upload(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_other_tenant: Tenant, fx_worker: WorkerProcess
) -> None:
    bot = make_bot(fx_client, fx_tenant)
    member = add_member(fx_client, fx_tenant)
    doc = upload(fx_client, member, bot, "m.txt", prose(80, 3).encode()).json()
    wait_for(fx_client, fx_tenant, bot, doc["id"])
    base = f"/api/v1/chatbots/{bot}"
    b = fx_other_tenant.headers
    attempts = [
        upload(fx_client, fx_other_tenant, bot, "x.txt", b"hello there"),
        fx_client.get(f"{base}/documents", headers=b),
        fx_client.get(f"{base}/documents/{doc['id']}", headers=b),
        fx_client.delete(f"{base}/documents/{doc['id']}", headers=b),
        fx_client.post(f"{base}/documents/{doc['id']}/reindex", headers=b),
        fx_client.post(f"{base}/documents/{doc['id']}/cancel", headers=b),
        fx_client.post(f"{base}/search", headers=b, json={"query": "river"}),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    # B's own bot can't reach A's document through its id either.
    b_bot = make_bot(fx_client, fx_other_tenant)
    cross = fx_client.get(f"/api/v1/chatbots/{b_bot}/documents/{doc['id']}", headers=b)
    assert cross.status_code == 404
    assert wait_for(fx_client, fx_tenant, bot, doc["id"])["status"] == "ready"


def test_delete_removes_file_chunks_and_vectors(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant, fx_worker: WorkerProcess
) -> None:
    from tables.knowledge import DocumentChunk

    bot = make_bot(fx_client, fx_tenant)
    doc = upload(
        fx_client, fx_tenant, bot, "gone.txt", b"The cobalt lantern is kept in the quarry."
    ).json()
    wait_for(fx_client, fx_tenant, bot, doc["id"])
    search = {"query": "cobalt lantern", "mode": "keyword"}
    assert fx_client.post(
        f"/api/v1/chatbots/{bot}/search", headers=fx_tenant.headers, json=search
    ).json()
    response = fx_client.delete(
        f"/api/v1/chatbots/{bot}/documents/{doc['id']}", headers=fx_tenant.headers
    )
    assert response.status_code == 204
    assert (
        fx_client.get(
            f"/api/v1/chatbots/{bot}/documents/{doc['id']}", headers=fx_tenant.headers
        ).status_code
        == 404
    )
    assert fx_server.run(DocumentChunk.count().where(DocumentChunk.document == doc["id"])) == 0
    assert (
        fx_client.post(
            f"/api/v1/chatbots/{bot}/search", headers=fx_tenant.headers, json=search
        ).json()
        == []
    )
    folder = get_settings().uploads_dir / fx_tenant.customer_id / bot
    assert list(folder.iterdir()) == []


def test_cancel_and_reindex(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    from tables.billing import UsageEvent

    bot = make_bot(fx_client, fx_tenant)
    base = f"/api/v1/chatbots/{bot}/documents"
    queued = upload(fx_client, fx_tenant, bot, "c.txt", prose(300, 4).encode()).json()
    cancelled = fx_client.post(f"{base}/{queued['id']}/cancel", headers=fx_tenant.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = fx_client.post(f"{base}/{queued['id']}/cancel", headers=fx_tenant.headers)
    assert again.status_code == 409

    with WorkerProcess(INGEST_QUEUES):
        kept = upload(fx_client, fx_tenant, bot, "k.txt", prose(300, 5).encode()).json()
        first = wait_for(fx_client, fx_tenant, bot, kept["id"])
        assert (
            fx_client.get(f"{base}/{queued['id']}", headers=fx_tenant.headers).json()["status"]
            == "cancelled"
        )
        reindexed = fx_client.post(f"{base}/{kept['id']}/reindex", headers=fx_tenant.headers)
        assert reindexed.status_code == 202 and reindexed.json()["status"] == "queued"
        second = wait_for(fx_client, fx_tenant, bot, kept["id"])
        restarted = fx_client.post(f"{base}/{queued['id']}/reindex", headers=fx_tenant.headers)
        assert restarted.status_code == 202
        assert wait_for(fx_client, fx_tenant, bot, queued["id"])["chunk_count"] > 0
    assert second["chunk_count"] == first["chunk_count"]
    events = fx_server.run(
        UsageEvent.select(UsageEvent.idempotency_key, UsageEvent.input_tokens).where(
            UsageEvent.idempotency_key.like(f"embedding:{kept['id']}:%")
        )
    )
    assert sorted(e["idempotency_key"] for e in events) == [
        f"embedding:{kept['id']}:0",
        f"embedding:{kept['id']}:1",
    ]
    assert all(e["input_tokens"] > 0 for e in events)


def test_a_corrupt_pdf_fails_with_a_message_and_the_worker_lives_on(
    fx_client: httpx.Client, fx_tenant: Tenant, fx_worker: WorkerProcess
) -> None:
    bot = make_bot(fx_client, fx_tenant)
    broken = upload(fx_client, fx_tenant, bot, "broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 200)
    assert broken.status_code == 202, broken.text
    failed = wait_for(fx_client, fx_tenant, bot, broken.json()["id"], statuses=("failed",))
    assert failed["error"] and "PDF" in failed["error"]
    assert failed["chunk_count"] == 0
    fine = upload(fx_client, fx_tenant, bot, "after.txt", prose(60, 8).encode()).json()
    assert wait_for(fx_client, fx_tenant, bot, fine["id"])["status"] == "ready"
