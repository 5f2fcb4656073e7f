"""Chatbot API keys: `bf_live_<prefix><secret>`, stored as the prefix and a SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_SCHEME = "bf_live_"
PREFIX_LENGTH = 12  # random characters that find the row by an indexed lookup
SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class NewKey:
    plaintext: str  # shown once, never stored
    prefix: str
    secret_hash: str


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def generate() -> NewKey:
    body = secrets.token_urlsafe(SECRET_BYTES).replace("-", "x").replace("_", "y")
    plaintext = KEY_SCHEME + body
    return NewKey(
        plaintext=plaintext, prefix=prefix_of(plaintext) or "", secret_hash=sha256(plaintext)
    )


def prefix_of(plaintext: str) -> str | None:
    """The lookup prefix, or None when the text cannot be one of our keys."""
    if (
        not plaintext.startswith(KEY_SCHEME)
        or len(plaintext) < len(KEY_SCHEME) + PREFIX_LENGTH + 16
    ):
        return None
    return plaintext[: len(KEY_SCHEME) + PREFIX_LENGTH]


def matches(plaintext: str, secret_hash: str) -> bool:
    return hmac.compare_digest(sha256(plaintext), secret_hash)
