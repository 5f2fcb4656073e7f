"""Every error answers RFC 9457 problem details (`application/problem+json`)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from core.errors import DomainError
from core.llm import LLMError

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("botfleet.api")


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    request: Request[Any, Any, Any] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(extra: Any) -> list[dict[str, Any]]:
    """Litestar's validation `extra` is a list of {message, key, source}; keep it readable."""
    if not isinstance(extra, list):
        return []
    return [
        {
            "field": item.get("key") or "body",
            "message": item.get("message", ""),
            "in": item.get("source"),
        }
        for item in extra
        if isinstance(item, dict)
    ]


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _validation_errors(exc.extra)
    named = ", ".join(f"{e['field']}: {e['message']}" for e in errors)
    detail = f"Invalid request: {named}" if named else str(exc.detail)
    return problem(400, detail, errors=errors, request=request)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(status).phrase else ""
    if not detail:
        detail = {
            404: f"No route matches {request.method} {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(status, HTTPStatus(status).phrase)
    headers = dict(exc.headers or {})
    return problem(status, detail, headers=headers, request=request)


def handle_domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if exc.field is None:
        return problem(exc.status, exc.detail, headers=exc.headers, request=request)
    detail = exc.detail if exc.field in exc.detail else f"{exc.field}: {exc.detail}"
    errors = [{"field": exc.field, "message": exc.detail}]
    return problem(exc.status, detail, errors=errors, headers=exc.headers, request=request)


def handle_llm(request: Request[Any, Any, Any], exc: LLMError) -> Response[Any]:
    logger.warning("LLM unavailable on %s: %s", request.url.path, exc)
    detail = "The language model is unavailable right now; try again shortly."
    return problem(503, detail, headers={"Retry-After": "5"}, request=request)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal server error; it has been logged.", request=request)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: handle_validation,
    HTTPException: handle_http,
    DomainError: handle_domain,
    LLMError: handle_llm,
    Exception: handle_unexpected,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "problem"]
