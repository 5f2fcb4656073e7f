"""One-time codes: six digits, stored as an HMAC, short-lived, few tries, few sends.

The code is hashed with the signing key and the code's own id, so a copy of the database
alone is not enough to try the million possible codes offline. Every guess first reserves
a try with one conditional UPDATE, so concurrent guesses can never exceed the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.chat.anonymous import AnonymousSessions
from core.endusers import RetryLater, accounts, sessions
from core.endusers.identity import Identity
from core.endusers.senders import OtpSender
from core.errors import InvalidInput, NotFound, TooManyRequests, Unauthorized
from core.security import passwords
from core.settings import Settings
from tables.chat import OtpCode

CODE_DIGITS = 6
_CODE = re.compile(rf"^\d{{{CODE_DIGITS}}}$")
# send-otp may name the anonymous session; verify-otp then claims it even if it doesn't.
_SESSION_PREFIX = "botfleet:otp-session:"


@dataclass(frozen=True, slots=True)
class OtpSent:
    otp_id: uuid.UUID
    identity: Identity
    expires_in: int


def _hash(code: str, otp_id: uuid.UUID, key: str) -> str:
    return hmac.new(key.encode(), f"{otp_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _what(identity: Identity) -> str:
    return "phone number" if identity.kind.value == "phone" else "email address"


async def _ensure_send_allowed(identity: Identity, settings: Settings, now: datetime) -> None:
    window = timedelta(seconds=settings.otp_send_window_s)
    recent = (
        await OtpCode.select(OtpCode.created_at)
        .where(OtpCode.identity_key == identity.identity_key, OtpCode.created_at > now - window)
        .order_by(OtpCode.created_at)
    )
    if len(recent) < settings.otp_max_sends:
        return
    # The limit frees up when the send that put us at it leaves the window.
    frees_at = recent[len(recent) - settings.otp_max_sends]["created_at"] + window
    wait_s = math.ceil((frees_at - now).total_seconds())
    raise RetryLater(
        f"at most {settings.otp_max_sends} codes can be sent to this {_what(identity)} "
        f"every {settings.otp_send_window_s // 60} minutes; try again in {max(1, wait_s)} seconds",
        retry_after_s=wait_s,
    )


async def send(
    identity: Identity,
    *,
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    settings: Settings,
    sender: OtpSender,
    anonymous: AnonymousSessions,
    session_id: uuid.UUID | None = None,
) -> OtpSent:
    """Make, store and deliver a new code; earlier unused codes stop working once it's out."""
    if session_id is not None:
        await sessions.ensure_claimable(
            anonymous,
            customer_id=customer_id,
            chatbot_id=chatbot_id,
            session_id=session_id,
            identity_key=identity.identity_key,
        )
    now = datetime.now(UTC)
    await _ensure_send_allowed(identity, settings, now)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    otp_id = uuid.uuid4()
    otp = OtpCode(
        id=otp_id,
        customer=customer_id,
        identity_key=identity.identity_key,
        code_hash=_hash(code, otp_id, settings.signing_key()),
        expires_at=now + timedelta(seconds=settings.otp_ttl_s),
        created_at=now,
    )
    await otp.save()
    try:
        await sender.send(identity, code, expires_in_s=settings.otp_ttl_s)
    except BaseException:
        # Not delivered: it must neither count against the send limit nor replace the
        # code the user may already hold.
        await OtpCode.delete().where(OtpCode.id == otp_id)
        raise
    await OtpCode.update({OtpCode.expires_at: now}).where(
        OtpCode.identity_key == identity.identity_key,
        OtpCode.id != otp_id,
        OtpCode.used_at.is_null(),
        OtpCode.expires_at > now,
    )
    if session_id is not None:
        await anonymous.redis.set(
            _SESSION_PREFIX + str(otp_id), str(session_id), ex=settings.otp_ttl_s
        )
    return OtpSent(otp_id=otp_id, identity=identity, expires_in=settings.otp_ttl_s)


def _check_usable(otp: OtpCode, settings: Settings, now: datetime) -> None:
    if otp.used_at is not None:
        raise Unauthorized("this code has already been used; request a new one", field="code")
    if otp.attempts >= settings.otp_max_attempts:
        raise TooManyRequests(
            f"this code is locked after {settings.otp_max_attempts} wrong tries; request a new one",
            field="code",
        )
    if otp.expires_at <= now:
        raise Unauthorized("the code has expired; request a new one", field="code")


async def _latest(identity: Identity) -> OtpCode | None:
    return (
        await OtpCode.objects()
        .where(OtpCode.identity_key == identity.identity_key)
        .order_by(OtpCode.created_at, ascending=False)
        .first()
    )


async def _remembered_session(anonymous: AnonymousSessions, otp_id: uuid.UUID) -> uuid.UUID | None:
    raw = await anonymous.redis.get(_SESSION_PREFIX + str(otp_id))
    try:
        return uuid.UUID(raw.decode()) if raw else None
    except ValueError:
        return None


async def verify(
    identity: Identity,
    code: str,
    *,
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    settings: Settings,
    anonymous: AnonymousSessions,
    session_id: uuid.UUID | None = None,
    password: str | None = None,
) -> accounts.SignedIn:
    """Check the latest code sent to `identity`; on success the end user is verified,
    signed in, given `password` if any, and handed the named anonymous session."""
    code = re.sub(r"\s", "", code)
    if not _CODE.match(code):
        raise InvalidInput(f"code must be the {CODE_DIGITS} digits that were sent", field="code")
    # Everything the client can get wrong is checked before a try is spent.
    if password is not None:
        passwords.check_policy(password)
    otp = await _latest(identity)
    if otp is None:
        raise Unauthorized(
            f"no code has been sent to this {_what(identity)}; request one with send-otp",
            field="code",
        )
    strict_session = session_id is not None
    if session_id is None:
        session_id = await _remembered_session(anonymous, otp.id)
    if session_id is not None:
        try:
            await sessions.ensure_claimable(
                anonymous,
                customer_id=customer_id,
                chatbot_id=chatbot_id,
                session_id=session_id,
                identity_key=identity.identity_key,
            )
        except NotFound:
            if strict_session:
                raise
            session_id = None  # the session named at send time has gone: sign in anyway
    now = datetime.now(UTC)
    _check_usable(otp, settings, now)

    reserved = (
        await OtpCode.update({OtpCode.attempts: OtpCode.attempts + 1})
        .where(
            OtpCode.id == otp.id,
            OtpCode.used_at.is_null(),
            OtpCode.attempts < settings.otp_max_attempts,
            OtpCode.expires_at > now,
        )
        .returning(OtpCode.attempts)
    )
    if not reserved:  # a concurrent request used, locked or replaced it meanwhile
        fresh = await OtpCode.objects().where(OtpCode.id == otp.id).first()
        if fresh is not None:
            _check_usable(fresh, settings, now)
        raise Unauthorized("this code can no longer be used; request a new one", field="code")
    tries = reserved[0]["attempts"]

    if not hmac.compare_digest(_hash(code, otp.id, settings.signing_key()), otp.code_hash):
        left = settings.otp_max_attempts - tries
        if left <= 0:
            raise TooManyRequests(
                f"the code is wrong, and that was the last of {settings.otp_max_attempts} "
                "tries: it is now locked; request a new one",
                field="code",
            )
        raise Unauthorized(
            f"the code is wrong; {left} {'try' if left == 1 else 'tries'} left", field="code"
        )

    # `attempts` counts wrong tries, so the reserved try is given back with the success.
    used = (
        await OtpCode.update({OtpCode.used_at: now, OtpCode.attempts: OtpCode.attempts - 1})
        .where(OtpCode.id == otp.id, OtpCode.used_at.is_null())
        .returning(OtpCode.id)
    )
    if not used:
        raise Unauthorized("this code has already been used; request a new one", field="code")
    await anonymous.redis.delete(_SESSION_PREFIX + str(otp.id))
    end_user = await accounts.record_verified(
        customer_id,
        identity,
        password_hash=passwords.hash_password(password) if password is not None else None,
    )
    claimed = None
    if session_id is not None:
        claimed = await sessions.claim(
            anonymous,
            customer_id=customer_id,
            chatbot_id=chatbot_id,
            session_id=session_id,
            end_user_id=end_user.id,
        )
    return accounts.SignedIn(end_user=end_user, session_id=claimed)
