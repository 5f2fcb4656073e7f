"""The seed's manage_db commands: stats, cleanup, users and session."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tables.chat import ChatMessage, ChatSession, EndUser, OtpCode
from tests.support.server import LiveServer
from tests.support.tenants import Tenant


def botfleet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_stats_users_session_and_cleanup(
    fx_server: LiveServer, fx_client: httpx.Client, fx_tenant: Tenant
) -> None:
    bot = fx_client.post("/api/v1/chatbots", headers=fx_tenant.headers, json={"name": "Ops"}).json()
    customer, chatbot = uuid.UUID(fx_tenant.customer_id), uuid.UUID(bot["id"])
    phone = f"+4479{uuid.uuid4().int % 10**8:08d}"
    user = EndUser(
        customer=customer,
        identifier=phone,
        identifier_kind="phone",
        identity_key=f"{customer}:phone:{phone}",
        verified=True,
        last_login=datetime.now(UTC) + timedelta(minutes=5),  # the most recent of all
    )
    old, fresh = datetime.now(UTC) - timedelta(days=40), datetime.now(UTC)
    stale = ChatSession(
        customer=customer, chatbot=chatbot, end_user=user.id, title="old", last_activity=old
    )
    recent = ChatSession(
        customer=customer, chatbot=chatbot, end_user=user.id, title="new", last_activity=fresh
    )
    spent = OtpCode(
        customer=customer, identity_key=user.identity_key, code_hash="x" * 64, expires_at=old
    )

    async def seed() -> None:
        await user.save()
        for session in (stale, recent):
            await session.save()
            await ChatMessage(
                session=session.id, role="user", content=f"hello from {session.title}"
            ).save()
        await spent.save()

    fx_server.run(seed())

    stats = botfleet("db", "stats")
    assert stats.returncode == 0 and "chat_session" in stats.stdout
    users = botfleet("db", "users", "--limit", "1")
    assert phone in users.stdout
    shown = botfleet("db", "session", "--session-id", str(stale.id))
    assert "hello from old" in shown.stdout and "old" in shown.stdout
    assert "no data" in botfleet("db", "session", "--session-id", str(uuid.uuid4())).stdout

    cleaned = botfleet("db", "cleanup", "--days", "30")
    assert cleaned.returncode == 0, cleaned.stderr
    assert fx_server.run(ChatSession.exists().where(ChatSession.id == stale.id)) is False
    assert fx_server.run(ChatMessage.count().where(ChatMessage.session == stale.id)) == 0
    assert fx_server.run(ChatSession.exists().where(ChatSession.id == recent.id)) is True
    assert fx_server.run(OtpCode.exists().where(OtpCode.id == spent.id)) is False
    assert "no data" in botfleet("db", "session", "--session-id", str(stale.id)).stdout
    assert botfleet("db", "users", "--limit", "0").returncode == 2
