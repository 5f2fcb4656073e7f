"""Domain errors: core/ raises these, the API turns them into problem details."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain said no; `status` is the HTTP status it maps to."""

    status = 400
    title = "Bad Request"

    def __init__(
        self, detail: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.headers = headers  # sent with the answer, e.g. Retry-After on a 429


class NotFound(DomainError):
    status = 404
    title = "Not Found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class PaymentRequired(DomainError):
    status = 402
    title = "Payment Required"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload Too Large"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported Media Type"


class Unprocessable(DomainError):
    status = 422
    title = "Unprocessable Content"


class InvalidInput(DomainError):
    status = 400
    title = "Bad Request"


class TooManyRequests(DomainError):
    status = 429
    title = "Too Many Requests"
