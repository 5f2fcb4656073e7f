"""The long-running commands: dev, serve, worker, scheduler."""

from __future__ import annotations

import asyncio
import fcntl
import subprocess
import sys
import time
import urllib.request

import click

from api.cli.runtime import broker_url, spawn, stop_all, stop_signals
from core.settings import get_settings

HEALTH_WAIT_S = 60.0


@click.command()
@click.option("--host", default=None, help="Bind address (default BOTFLEET_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default BOTFLEET_PORT, 8000).")
def dev(host: str | None, port: int | None) -> None:
    """API, worker, scheduler and the embedded services in one command."""
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = (settings.data_dir / "dev.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise click.ClickException(
            f"botfleet dev is already running for data dir {settings.data_dir.resolve()}; "
            "stop it or set BOTFLEET_DATA_DIR to another directory"
        ) from None
    with lock, broker_url(settings) as url, stop_signals() as received:
        _migrate()
        children = [
            spawn(["serve", "--host", host, "--port", str(port)]),
            spawn(["worker", "--processes", "1", "--threads", "4"]),
            spawn(["scheduler"]),
        ]
        try:
            base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
            if _wait_for_health(base, children, received):
                _banner(base, url, settings.redis_url is None, settings.data_dir.resolve())
                while not received and all(child.poll() is None for child in children):
                    time.sleep(0.2)
            failed = [child for child in children if child.poll() not in (None, 0)]
        finally:
            stop_all(children)
    if failed and not received:
        raise click.ClickException("a platform process exited unexpectedly; see its log above")
    click.echo("Botfleet stopped.")


def _migrate() -> None:
    from core.database import migrate

    asyncio.run(migrate())


def _wait_for_health(
    base: str, children: list[subprocess.Popen[bytes]], received: list[int]
) -> bool:
    deadline = time.monotonic() + HEALTH_WAIT_S
    while time.monotonic() < deadline and not received:
        if any(child.poll() is not None for child in children):
            return False
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1):  # noqa: S310 - our URL
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _banner(base: str, broker: str, embedded: bool, data_dir: object) -> None:
    rows = [
        ("API", f"{base}/api/v1"),
        ("API docs", f"{base}/schema/swagger"),
        ("Admin", f"{base}/admin/"),
        ("Health", f"{base}/api/v1/health"),
        ("Broker", f"{broker}{' (embedded)' if embedded else ''}"),
        ("Data dir", str(data_dir)),
    ]
    click.secho("\nBotfleet is running", bold=True)
    for label, value in rows:
        click.echo(f"  {label:<9} {value}")
    click.echo("Press Ctrl+C to stop.\n")


@click.command()
@click.option("--host", default=None, help="Bind address (default BOTFLEET_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default BOTFLEET_PORT, 8000).")
@click.option("--workers", type=int, default=1, show_default=True, help="API processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """The HTTP API (uvicorn)."""
    import uvicorn

    settings = get_settings()
    with broker_url(settings):
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_level=settings.log_level.lower(),
            access_log=False,  # api/middleware.py logs each request once
        )


@click.command()
@click.option("--processes", type=int, default=2, show_default=True)
@click.option("--threads", type=int, default=4, show_default=True)
def worker(processes: int, threads: int) -> None:
    """The Dramatiq worker for every actor in workers/."""
    settings = get_settings()
    with broker_url(settings), stop_signals() as received:
        # Dramatiq's own CLI runs the pool; it handles SIGTERM by finishing current messages.
        command = [sys.executable, "-m", "dramatiq", "workers.actors"]
        command += ["--processes", str(processes), "--threads", str(threads)]
        child = subprocess.Popen(command)  # noqa: S603 - our interpreter
        try:
            while child.poll() is None and not received:
                time.sleep(0.2)
        finally:
            stop_all([child], timeout=30)
    if child.returncode not in (0, -15) and not received:
        raise click.ClickException(f"the Dramatiq worker exited with code {child.returncode}")


@click.command()
def scheduler() -> None:
    """Enqueues the periodic jobs (cleanup, expiry, invoices) on time."""
    from workers.scheduler import run_scheduler

    settings = get_settings()
    with broker_url(settings), stop_signals() as received:
        run_scheduler(stop=lambda: bool(received))
