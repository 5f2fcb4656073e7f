"""Liveness (`/health`) and readiness of every backend (`/api/v1/health`)."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State

from api.health.schemas import Liveness, Readiness
from core.health import check_backends


@get("/health", tags=["health"], summary="Liveness: the process answers")
async def liveness() -> Liveness:
    return Liveness(status="ok")


@get("/api/v1/health", tags=["health"], summary="Readiness: database, broker, vector store")
async def readiness(state: State) -> Response[Readiness]:
    checks = await check_backends(state.resources)
    healthy = all(check.ok for check in checks.values())
    body = Readiness(status="ok" if healthy else "degraded", checks=checks)
    return Response(body, status_code=200 if healthy else 503)
