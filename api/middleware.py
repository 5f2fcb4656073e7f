"""One log line per request: method, path, status, duration."""

from __future__ import annotations

import logging
from time import perf_counter

from litestar.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("botfleet.requests")


def request_log(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, remember_status)
        finally:
            logger.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (perf_counter() - started) * 1000,
            )

    return middleware
