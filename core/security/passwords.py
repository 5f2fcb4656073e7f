"""Password hashing (argon2) and the password policy."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128
_hasher = PasswordHasher()
# A real hash to verify against when the user doesn't exist, so timing doesn't tell.
_DUMMY_HASH = _hasher.hash("botfleet-timing-equaliser")


def check_policy(password: str, field: str = "password") -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"password must be {MIN_LENGTH}-{MAX_LENGTH} characters long", field=field
        )
    missing = [
        name
        for name, pattern in (
            ("an upper-case letter", r"[A-Z]"),
            ("a lower-case letter", r"[a-z]"),
            ("a digit", r"\d"),
        )
        if not re.search(pattern, password)
    ]
    if missing:
        raise InvalidInput("password must contain " + ", ".join(missing), field=field)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
