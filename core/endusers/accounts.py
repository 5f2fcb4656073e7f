"""End-user accounts: does one exist, password sign-in, and recording a verified identity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from core.chat.anonymous import AnonymousSessions
from core.database import is_unique_violation
from core.endusers import RetryLater, sessions
from core.endusers.identity import Identity
from core.errors import Unauthorized
from core.security import passwords
from tables.chat import EndUser

INVALID = "invalid identifier or password"
# Password guessing against one identity: this many failures in the window, then a pause.
# The OTP has its own limits; without this a bot's public key would allow unlimited tries.
SIGN_IN_MAX_FAILURES = 10
SIGN_IN_WINDOW_S = 15 * 60
_FAILURES_PREFIX = "botfleet:enduser-signin-failures:"


@dataclass(frozen=True, slots=True)
class UserCheck:
    exists: bool
    verified: bool
    has_password: bool


async def find(identity: Identity) -> EndUser | None:
    # identity_key starts with the customer: this lookup is tenant-scoped by construction.
    return await EndUser.objects().where(EndUser.identity_key == identity.identity_key).first()


async def check_user(identity: Identity) -> UserCheck:
    user = await find(identity)
    if user is None:
        return UserCheck(exists=False, verified=False, has_password=False)
    return UserCheck(
        exists=True, verified=bool(user.verified), has_password=user.password_hash is not None
    )


async def _ensure_not_throttled(redis: aioredis.Redis, identity: Identity) -> None:
    key = _FAILURES_PREFIX + identity.identity_key
    failures = int(await redis.get(key) or 0)
    if failures >= SIGN_IN_MAX_FAILURES:
        ttl = await redis.ttl(key)
        raise RetryLater(
            f"too many failed sign-ins for this {identity.kind.value}: at most "
            f"{SIGN_IN_MAX_FAILURES} every {SIGN_IN_WINDOW_S // 60} minutes; "
            "try again later or sign in with a one-time code",
            retry_after_s=ttl if ttl > 0 else SIGN_IN_WINDOW_S,
        )


async def _record_failure(redis: aioredis.Redis, identity: Identity) -> None:
    key = _FAILURES_PREFIX + identity.identity_key
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.ttl(key)
        _, ttl = await pipe.execute()
    # The window starts at the first failure. (EXPIRE ... NX would say this in one step but
    # needs Redis 7; the embedded Redis is 6.2.) A key left without a TTL gets one here.
    if ttl < 0:
        await redis.expire(key, SIGN_IN_WINDOW_S)


@dataclass(frozen=True, slots=True)
class SignedIn:
    end_user: EndUser
    session_id: uuid.UUID | None  # the session now owned by the end user, if one was named


async def sign_in(
    identity: Identity,
    password: str,
    *,
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    redis: aioredis.Redis,
    anonymous: AnonymousSessions,
    session_id: uuid.UUID | None = None,
) -> SignedIn:
    """Password sign-in, handing the named anonymous session to the end user.

    The same answer, in about the same time, whether the user is missing, has no password
    or typed the wrong one (a real hash is verified in every case).
    """
    scope = {"customer_id": customer_id, "chatbot_id": chatbot_id, "session_id": session_id}
    if session_id is not None:  # before the password, so a bad id costs no try
        await sessions.ensure_claimable(anonymous, **scope, identity_key=identity.identity_key)
    user = await _check_password(identity, password, redis)
    claimed = None
    if session_id is not None:
        claimed = await sessions.claim(anonymous, **scope, end_user_id=user.id)
    return SignedIn(end_user=user, session_id=claimed)


async def _check_password(identity: Identity, password: str, redis: aioredis.Redis) -> EndUser:
    await _ensure_not_throttled(redis, identity)
    user = await find(identity)
    ok = passwords.verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.verified:
        await _record_failure(redis, identity)
        raise Unauthorized(INVALID)
    await redis.delete(_FAILURES_PREFIX + identity.identity_key)
    user.last_login = datetime.now(UTC)
    await EndUser.update({EndUser.last_login: user.last_login}).where(EndUser.id == user.id)
    return user


async def record_verified(
    customer_id: uuid.UUID, identity: Identity, *, password_hash: str | None = None
) -> EndUser:
    """Create or update the end user after a successful OTP: verified, signed in now, and
    with a new password when one was given (an existing one is kept otherwise)."""
    now = datetime.now(UTC)
    changes: dict[Any, Any] = {EndUser.verified: True, EndUser.last_login: now}
    if password_hash is not None:
        changes[EndUser.password_hash] = password_hash
    for _ in range(2):  # a concurrent first sign-in may create the row between our steps
        await EndUser.update(changes).where(EndUser.identity_key == identity.identity_key)
        user = await find(identity)
        if user is not None:
            return user
        try:
            user = EndUser(
                customer=customer_id,
                identifier=identity.identifier,
                identifier_kind=identity.kind,
                identity_key=identity.identity_key,
                verified=True,
                password_hash=password_hash,
                last_login=now,
            )
            await user.save()
            return user
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
    raise RuntimeError(f"end user {identity.identity_key} could neither be created nor found")
