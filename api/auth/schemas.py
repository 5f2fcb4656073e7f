from __future__ import annotations

import uuid
from datetime import datetime

from api.schemas import Email, Input, Name, Output, Password
from tables.tenancy import Customer, CustomerUser


class RegisterRequest(Input):
    email: Email
    password: Password
    name: Name
    company: Name


class LoginRequest(Input):
    email: Email
    password: Password


class UserOut(Output):
    id: uuid.UUID
    email: str
    name: str
    role: str
    customer_id: uuid.UUID
    created_at: datetime
    last_login: datetime | None

    @classmethod
    def of(cls, user: CustomerUser) -> UserOut:
        customer = user.customer.id if isinstance(user.customer, Customer) else user.customer
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=str(user.role),
            customer_id=customer,
            created_at=user.created_at,
            last_login=user.last_login,
        )


class CustomerOut(Output):
    id: uuid.UUID
    name: str
    contact_email: str
    plan: str
    token_quota: int
    status: str
    created_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls(
            id=customer.id,
            name=customer.name,
            contact_email=customer.contact_email,
            plan=str(customer.plan),
            token_quota=customer.token_quota,
            status=str(customer.status),
            created_at=customer.created_at,
        )


class TokenOut(Output, kw_only=True):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class RegisterOut(TokenOut, kw_only=True):
    user: UserOut
    customer: CustomerOut


class MeOut(Output):
    user: UserOut
    customer: CustomerOut
