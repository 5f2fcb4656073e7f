"""What every operator form shares: turning domain errors into form errors, and enum fields."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from pydantic import WithJsonSchema
from starlette.requests import Request

from core.errors import DomainError


@contextmanager
def domain_errors_as_form_errors() -> Iterator[None]:
    """Piccolo Admin shows a `ValueError` raised by a form endpoint as the form's error
    (a 422 `{"custom_form_error": ...}`); anything else would be a bare 500."""
    try:
        yield
    except DomainError as exc:
        raise ValueError(f"{exc.field}: {exc.detail}" if exc.field else exc.detail) from exc


def choice_schema(enum: type[StrEnum], title: str) -> WithJsonSchema:
    """A plain string schema whose label lists the values.

    Pydantic renders an enum field as a `$ref`, which the admin's form renderer doesn't
    follow (it reads `type`, and shows no input at all without it); custom forms get no
    select box either, so the label names the choices. The model still validates against
    the enum itself.
    """
    values = [member.value for member in enum]
    return WithJsonSchema(
        {"type": "string", "title": f"{title} ({' / '.join(values)})", "enum": values}
    )


def operator_name(request: Request) -> str:
    """Who ran the form, for the log (the admin's auth middleware put them on the request)."""
    return str(getattr(request.scope.get("user"), "display_name", "unknown operator"))
