from __future__ import annotations

import msgspec

from core.health import BackendCheck


class Liveness(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str  # "ok" or "degraded"
    checks: dict[str, BackendCheck]
