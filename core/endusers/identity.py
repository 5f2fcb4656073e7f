"""Normalising what an end user types (a phone or an email) into one identity per customer.

The same person must map to the same `EndUser` however they type it, so phones lose their
spacing and punctuation and emails are lower-cased. The identity key is unique in the table
and starts with the customer: end users are per customer, never shared between tenants.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from core.errors import InvalidInput
from tables.chat import IdentifierKind

PHONE_DIGITS = (7, 15)  # E.164 allows at most 15 digits; 7 is the shortest real subscriber number
EMAIL_MAX = 320
_PHONE_PUNCTUATION = re.compile(r"[\s\-.()/]")
_PHONE = re.compile(r"^\+?\d+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Identity:
    kind: IdentifierKind
    identifier: str
    identity_key: str


def normalise_phone(raw: str, field: str = "phone") -> str:
    """Digits with an optional leading +: '+44 (20) 7946-0958' -> '+442079460958'."""
    phone = _PHONE_PUNCTUATION.sub("", raw.strip())
    digits = len(phone.removeprefix("+"))
    if not _PHONE.match(phone) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        raise InvalidInput(
            f"{field} must be {PHONE_DIGITS[0]}-{PHONE_DIGITS[1]} digits, "
            "optionally starting with +",
            field=field,
        )
    return phone


def normalise_email(raw: str, field: str = "email") -> str:
    email = raw.strip().lower()
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise InvalidInput(f"{field} must be an email address like name@example.com", field=field)
    return email


def identity_key(customer_id: uuid.UUID, kind: IdentifierKind, identifier: str) -> str:
    return f"{customer_id}:{kind.value}:{identifier}"


def of(
    customer_id: uuid.UUID, kind: IdentifierKind, raw: str, field: str | None = None
) -> Identity:
    """A phone or an email of this customer's end user, normalised."""
    if kind is IdentifierKind.phone:
        identifier = normalise_phone(raw, field or "phone")
    elif kind is IdentifierKind.email:
        identifier = normalise_email(raw, field or "email")
    else:  # external ids come from the customer's backend, never from a sign-in form
        raise InvalidInput("sign-in needs a phone number or an email address", field=field)
    return Identity(kind, identifier, identity_key(customer_id, kind, identifier))


def guess(customer_id: uuid.UUID, raw: str, field: str = "identifier") -> Identity:
    """An `identifier` field that may be either: an @ makes it an email, otherwise a phone."""
    if "@" in raw:
        return of(customer_id, IdentifierKind.email, raw, field)
    try:
        return of(customer_id, IdentifierKind.phone, raw, field)
    except InvalidInput:
        raise InvalidInput(
            f"{field} must be a phone number (7-15 digits, optional +) or an email address",
            field=field,
        ) from None


def mask(identity: Identity) -> str:
    """Enough to recognise where the code went, not enough to learn the address."""
    if identity.kind is IdentifierKind.email:
        local, _, domain = identity.identifier.partition("@")
        return f"{local[0]}***@{domain}"
    phone = identity.identifier
    plus = "+" if phone.startswith("+") else ""
    digits = phone.removeprefix("+")
    return plus + "*" * (len(digits) - 3) + digits[-3:]
