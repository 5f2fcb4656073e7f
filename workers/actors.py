"""Every actor module, for the worker process (`dramatiq workers.actors`)."""

from workers import ingestion, metering, sessions
from workers.broker import broker

__all__ = ["broker", "ingestion", "metering", "sessions"]
