"""Retention: idle persisted sessions (with their messages) and spent one-time codes.

Revoked customer tokens need no sweep: each revocation is a Redis key that expires with
the token. Anonymous sessions expire in Redis by their TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.database import write_transaction
from tables.chat import ChatMessage, ChatSession, OtpCode

# Codes stay a day past their expiry so the send limit can still count them.
OTP_GRACE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Cleaned:
    sessions: int
    messages: int
    otp_codes: int


async def cleanup(*, idle_days: int, now: datetime | None = None) -> Cleaned:
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=idle_days)
    async with write_transaction():
        stale = ChatSession.last_activity < cutoff
        messages = await ChatMessage.count().where(ChatMessage.session.last_activity < cutoff)
        sessions = await ChatSession.delete().where(stale).returning(ChatSession.id)
        codes = (
            await OtpCode.delete().where(OtpCode.expires_at < now - OTP_GRACE).returning(OtpCode.id)
        )
    return Cleaned(sessions=len(sessions), messages=messages, otp_codes=len(codes))
