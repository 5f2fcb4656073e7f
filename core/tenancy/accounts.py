"""Customer accounts: registration, sign-in, token principals and the customer's users."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from core.database import is_unique_violation, write_transaction
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from core.security import passwords, tokens
from core.tenancy.principals import CustomerPrincipal
from core.tenancy.scope import get_owned, owned_by
from tables.tenancy import Customer, CustomerStatus, CustomerUser, Plan, Role

SUSPENDED = "this customer account is suspended; contact the platform operator"


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def _ensure_email_free(email: str) -> None:
    if await CustomerUser.exists().where(CustomerUser.email == email):
        raise Conflict("an account with this email already exists", field="email")


async def register(
    *,
    email: str,
    password: str,
    name: str,
    company: str,
    plan: Plan = Plan.free,
    token_quota: int | None = None,
) -> tuple[Customer, CustomerUser]:
    """A new customer and its owner, in one transaction."""
    email = normalise_email(email)
    passwords.check_policy(password)
    await _ensure_email_free(email)
    customer = Customer(name=company.strip(), contact_email=email, plan=plan)
    if token_quota is not None:
        customer.token_quota = token_quota
    user = CustomerUser(
        customer=customer.id,
        email=email,
        name=name.strip(),
        password_hash=passwords.hash_password(password),
        role=Role.owner,
    )
    try:
        async with write_transaction():
            await customer.save()
            await user.save()
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict("an account with this email already exists", field="email") from None
        raise
    return customer, user


async def authenticate(email: str, password: str) -> CustomerUser:
    user = (
        await CustomerUser.objects(CustomerUser.customer)
        .where(CustomerUser.email == normalise_email(email))
        .first()
    )
    if (
        not passwords.verify_password(password, user.password_hash if user else None)
        or user is None
    ):
        raise Unauthorized("invalid email or password")
    if user.customer.status != CustomerStatus.active:
        raise Forbidden(SUSPENDED)
    await CustomerUser.update({CustomerUser.last_login: datetime.now(UTC)}).where(
        CustomerUser.id == user.id
    )
    return user


def issue_token(user: CustomerUser, *, key: str, ttl: timedelta) -> str:
    customer_id = user.customer.id if isinstance(user.customer, Customer) else user.customer
    return tokens.issue(user_id=user.id, customer_id=customer_id, key=key, ttl=ttl)


async def principal_from_token(token: str, *, key: str, redis: aioredis.Redis) -> CustomerPrincipal:
    """Checked on every request: signature, expiry, revocation, user and customer status."""
    claims = tokens.decode(token, key=key)
    if await tokens.is_revoked(redis, claims.jti):
        raise Unauthorized("the access token has been revoked; sign in again")
    row = (
        await CustomerUser.select(
            CustomerUser.id, CustomerUser.role, CustomerUser.email, CustomerUser.customer.status
        )
        .where(CustomerUser.id == claims.user_id, CustomerUser.customer == claims.customer_id)
        .first()
    )
    if row is None:
        raise Unauthorized("the access token's user no longer exists")
    if row["customer.status"] != CustomerStatus.active:
        raise Forbidden(SUSPENDED)
    return CustomerPrincipal(
        user_id=claims.user_id,
        customer_id=claims.customer_id,
        role=Role(row["role"]),
        email=row["email"],
        jti=claims.jti,
        expires_at=claims.expires_at,
    )


async def logout(principal: CustomerPrincipal, redis: aioredis.Redis) -> None:
    await tokens.revoke(
        redis,
        tokens.TokenClaims(
            principal.user_id, principal.customer_id, principal.jti, principal.expires_at
        ),
    )


async def get_customer(customer_id: uuid.UUID) -> Customer:
    return await get_owned(Customer, customer_id, customer_id, name="customer")


async def get_user(customer_id: uuid.UUID, user_id: uuid.UUID) -> CustomerUser:
    return await get_owned(CustomerUser, customer_id, user_id, name="user")


async def list_users(customer_id: uuid.UUID) -> list[CustomerUser]:
    return (
        await CustomerUser.objects()
        .where(owned_by(CustomerUser, customer_id))
        .order_by(CustomerUser.created_at)
    )


async def add_user(
    customer_id: uuid.UUID, *, email: str, password: str, name: str, role: Role
) -> CustomerUser:
    email = normalise_email(email)
    passwords.check_policy(password)
    await _ensure_email_free(email)
    user = CustomerUser(
        customer=customer_id,
        email=email,
        name=name.strip(),
        password_hash=passwords.hash_password(password),
        role=role,
    )
    try:
        await user.save()
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict("an account with this email already exists", field="email") from None
        raise
    return user


async def remove_user(principal: CustomerPrincipal, user_id: uuid.UUID) -> None:
    user = await get_user(principal.customer_id, user_id)
    if user.id == principal.user_id:
        raise InvalidInput("you cannot delete your own account", field="id")
    await CustomerUser.delete().where(CustomerUser.id == user.id)


async def set_status(customer_id: uuid.UUID, status: CustomerStatus) -> Customer:
    """Suspend or reactivate; effective at once because every request checks the status."""
    updated = (
        await Customer.update({Customer.status: status})
        .where(Customer.id == customer_id)
        .returning(Customer.id)
    )
    if not updated:
        raise NotFound(f"customer {customer_id} not found")
    return await get_customer(customer_id)
