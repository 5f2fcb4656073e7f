"""Customer access tokens: HS256 JWTs with a revocation list in Redis."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import redis.asyncio as aioredis

from core.errors import Unauthorized

ALGORITHM = "HS256"
REVOKED_PREFIX = "botfleet:revoked-jwt:"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: uuid.UUID
    customer_id: uuid.UUID
    jti: str
    expires_at: datetime


def issue(*, user_id: uuid.UUID, customer_id: uuid.UUID, key: str, ttl: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "customer": str(customer_id),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode(token: str, *, key: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "customer", "exp", "iat", "jti"]},
        )
        return TokenClaims(
            user_id=uuid.UUID(claims["sub"]),
            customer_id=uuid.UUID(claims["customer"]),
            jti=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired; sign in again") from None
    except (jwt.InvalidTokenError, ValueError):
        raise Unauthorized("the access token is invalid") from None


async def revoke(redis: aioredis.Redis, claims: TokenClaims) -> None:
    # Kept exactly as long as the token could still be presented.
    remaining = int((claims.expires_at - datetime.now(UTC)).total_seconds()) + 1
    if remaining > 0:
        await redis.set(REVOKED_PREFIX + claims.jti, "1", ex=remaining)


async def is_revoked(redis: aioredis.Redis, jti: str) -> bool:
    return bool(await redis.exists(REVOKED_PREFIX + jti))
