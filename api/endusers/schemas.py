"""End-user sign-in bodies. Lengths are bounded here; core/ normalises and names mistakes."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from api.schemas import Input, Output, Password
from core.endusers.accounts import UserCheck
from core.endusers.identity import Identity
from tables.chat import EndUser

Phone = Annotated[
    str, msgspec.Meta(min_length=1, max_length=32, description="Digits, optional leading +")
]
EmailAddress = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
Identifier = Annotated[
    str, msgspec.Meta(min_length=1, max_length=320, description="A phone number or an email")
]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=16, description="The 6 digits sent")]


class CheckUserRequest(Input, kw_only=True):
    identifier: Identifier


class SendOtpRequest(Input, kw_only=True):
    """Exactly one of phone or email."""

    phone: Phone | None = None
    email: EmailAddress | None = None
    session_id: uuid.UUID | None = None  # the anonymous session to keep; verify-otp claims it


class VerifyOtpRequest(Input, kw_only=True):
    phone: Phone | None = None
    email: EmailAddress | None = None
    code: Code
    session_id: uuid.UUID | None = None
    password: Password | None = None  # sets (or replaces) the end user's password


class SignInRequest(Input, kw_only=True):
    identifier: Identifier
    password: Password
    session_id: uuid.UUID | None = None


class CheckUserOut(Output, kw_only=True):
    identifier: str  # as normalised: the form the user will be known by
    kind: str
    exists: bool
    verified: bool
    has_password: bool

    @classmethod
    def of(cls, identity: Identity, check: UserCheck) -> CheckUserOut:
        return cls(
            identifier=identity.identifier,
            kind=identity.kind.value,
            exists=check.exists,
            verified=check.verified,
            has_password=check.has_password,
        )


class OtpSentOut(Output, kw_only=True):
    sent_to: str  # masked
    kind: str
    expires_in: int  # seconds


class EndUserOut(Output, kw_only=True):
    id: uuid.UUID
    identifier: str
    kind: str
    verified: bool

    @classmethod
    def of(cls, user: EndUser) -> EndUserOut:
        return cls(
            id=user.id,
            identifier=user.identifier,
            kind=str(user.identifier_kind),
            verified=bool(user.verified),
        )


class EndUserAuthOut(Output, kw_only=True):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    end_user: EndUserOut
    session_id: uuid.UUID | None = None  # the session now stored for this user, if one was named


class SessionStatusOut(Output, kw_only=True):
    session_id: uuid.UUID
    authenticated: bool
    end_user_id: uuid.UUID | None
    storage: Literal["memory", "database"]
