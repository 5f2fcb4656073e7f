"""End-user access tokens: HS256 JWTs, kept apart from customer tokens.

Both kinds are signed with the same key, so each must refuse the other. End-user tokens
carry `aud` = END_USER_AUDIENCE (PyJWT rejects a token with an `aud` when the decoder
names none, which is how the customer decoder refuses them) and this decoder requires that
audience (customer tokens have none). Their claim names differ too (`customer_id` here,
`customer` there), so neither decoder's required claims are met by the other kind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from core.errors import Unauthorized

ALGORITHM = "HS256"
END_USER_AUDIENCE = "botfleet:end-user"
_REQUIRED = ["sub", "aud", "customer_id", "chatbot_id", "exp", "iat", "jti"]


@dataclass(frozen=True, slots=True)
class EndUserClaims:
    end_user_id: uuid.UUID
    customer_id: uuid.UUID
    chatbot_id: uuid.UUID  # the bot the user signed in through
    expires_at: datetime


def issue_end_user_token(
    *,
    end_user_id: uuid.UUID,
    customer_id: uuid.UUID,
    chatbot_id: uuid.UUID,
    key: str,
    ttl: timedelta,
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(end_user_id),
        "aud": END_USER_AUDIENCE,
        "customer_id": str(customer_id),
        "chatbot_id": str(chatbot_id),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode_end_user_token(
    token: str, *, key: str, customer_id: uuid.UUID | None = None
) -> EndUserClaims:
    """The token's claims; Unauthorized on anything wrong.

    Give `customer_id` (the chatbot's customer) to also refuse another tenant's token:
    end users belong to one customer and their token is worth nothing elsewhere.
    """
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=END_USER_AUDIENCE,
            options={"require": _REQUIRED},
        )
        decoded = EndUserClaims(
            end_user_id=uuid.UUID(claims["sub"]),
            customer_id=uuid.UUID(claims["customer_id"]),
            chatbot_id=uuid.UUID(claims["chatbot_id"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the end-user token has expired; sign in again") from None
    except (jwt.InvalidTokenError, ValueError, TypeError, AttributeError):
        raise Unauthorized("the end-user token is invalid") from None
    if customer_id is not None and decoded.customer_id != customer_id:
        raise Unauthorized("the end-user token belongs to another customer")
    return decoded
