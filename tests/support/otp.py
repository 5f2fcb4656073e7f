"""Reading the one-time codes the log sender prints (the server runs in this process)."""

from __future__ import annotations

import logging
import re


class CodeLog(logging.Handler):
    """Collects the codes the log sender prints."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def code_for(self, identifier: str) -> str:
        pattern = re.compile(rf"^OTP for {re.escape(identifier)}: (\d{{6}})$")
        found = [m.group(1) for line in self.messages if (m := pattern.match(line))]
        assert found, f"no code was logged for {identifier}: {self.messages}"
        return found[-1]
