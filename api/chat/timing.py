"""Each request's phase timings, for the `Server-Timing` header of chat answers."""

from __future__ import annotations

from typing import Any

from litestar import Request

from core.chat.engine import Timings


def timings_of(request: Request[Any, Any, Any]) -> Timings:
    timings = getattr(request.state, "timings", None)
    if timings is None:
        timings = request.state.timings = Timings()
    return timings
