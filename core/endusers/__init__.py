"""End users of a customer's bots: identities, one-time codes, passwords and their tokens."""

from __future__ import annotations

from core.errors import TooManyRequests


class RetryLater(TooManyRequests):
    """A limit was hit; `retry_after_s` says when it frees up (the API's Retry-After)."""

    def __init__(self, detail: str, *, retry_after_s: int, field: str | None = None) -> None:
        self.retry_after_s = max(1, retry_after_s)
        super().__init__(detail, field=field, headers={"Retry-After": str(self.retry_after_s)})
