"""A real Dramatiq worker process for the tests that need one."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence


class WorkerProcess:
    def __init__(self, queues: Sequence[str], threads: int = 2, **settings: str) -> None:
        self.command = [sys.executable, "-m", "dramatiq", "workers.actors", "--processes", "1"]
        self.command += ["--threads", str(threads), "--queues", *queues]
        self.env = {**os.environ, **settings}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        # Its own process group: dramatiq forks worker processes, and a kill must reach them.
        self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL to every process of the worker: no chance to finish or requeue anything."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # no worker process may outlive the test
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
