"""`botfleet dev` as a user runs it: one command, a banner, Ctrl+C, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

from tests.support.server import free_port
from workers.embedded_redis import socket_path

START_BUDGET_S = 60


def _dev_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["BOTFLEET_DATA_DIR"] = str(data_dir)
    return env


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of an exited child still answers kill(0); it is not running.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_dev_serves_then_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "var"
    started = time.monotonic()
    dev = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "dev", "--port", str(port)],
        env=_dev_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        while True:
            assert dev.poll() is None, dev.stdout.read() if dev.stdout else ""
            assert time.monotonic() - started < START_BUDGET_S, "no /health within the budget"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        ready = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10)
        assert ready.status_code == 200, ready.text
        redis_pid = int((data_dir / "redis" / "redis.pid").read_text())
        assert _pid_alive(redis_pid)

        # A second `dev` on the same data directory refuses instead of racing the first.
        second = subprocess.run(
            [sys.executable, "-m", "api.cli", "dev", "--port", str(free_port())],
            env=_dev_env(data_dir),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert "already running" in second.stderr

        dev.send_signal(signal.SIGINT)
        output, _ = dev.communicate(timeout=45)
    finally:
        if dev.poll() is None:
            dev.kill()
    assert dev.returncode == 0, output
    assert "Botfleet is running" in output
    assert f"http://127.0.0.1:{port}/admin/" in output
    assert not _pid_alive(redis_pid), "the embedded Redis outlived botfleet dev"
    sock = socket_path(data_dir / "redis")
    assert not sock.exists()
    # The data survived: the next start finds the same database file.
    assert (data_dir / "botfleet.db").exists()
    try:
        redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping()
        raise AssertionError("a Redis still answers on the data directory's socket")
    except redis.RedisError:
        pass
