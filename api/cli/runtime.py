"""What every long-running command shares: a broker URL and child-process handling."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence

from core.settings import Settings, get_settings
from workers.embedded_redis import EmbeddedRedis, die_with_parent


@contextlib.contextmanager
def broker_url(settings: Settings) -> Iterator[str]:
    """REDIS_URL if set; otherwise the data directory's embedded Redis, found or started.

    The URL is put into this process's environment so that the settings of the app factory,
    the broker module and every child process agree on it.
    """
    if settings.redis_url:
        yield settings.redis_url
        return
    server = EmbeddedRedis(settings.redis_dir).start()
    os.environ["REDIS_URL"] = server.url
    get_settings.cache_clear()
    try:
        yield server.url
    finally:
        server.stop()


def spawn(args: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start `python -m api.cli <args>` in its own session so Ctrl+C reaches only us."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "api.cli", *args],
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def stop_all(children: Sequence[subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextlib.contextmanager
def stop_signals() -> Iterator[list[int]]:
    """Collect SIGINT/SIGTERM instead of raising, so shutdown runs in one orderly place."""
    received: list[int] = []

    def remember(signum: int, _frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
