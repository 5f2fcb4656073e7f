"""Schema migrations and database maintenance, shared by the CLI, the tests and the workers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import weakref
from collections.abc import AsyncIterator

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine, TransactionType


class MigrationError(RuntimeError):
    pass


async def migrate(*, quiet: bool = True) -> None:
    """Apply every pending migration of every registered app (idempotent)."""
    engine = engine_finder()
    if isinstance(engine, SQLiteEngine):
        # WAL lets the API read while a worker writes; the mode is kept in the file.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    output = io.StringIO()
    with contextlib.redirect_stdout(output) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="all")
    if not result.success:
        raise MigrationError(f"migrations failed: {result.message}\n{output.getvalue()}")


def is_unique_violation(exc: BaseException) -> bool:
    """True for a UNIQUE constraint failure on either backend (races past our own checks)."""
    import sqlite3

    from asyncpg.exceptions import UniqueViolationError

    if isinstance(exc, UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """A transaction that will write.

    On SQLite it takes the write lock up front (BEGIN IMMEDIATE): a deferred transaction that
    reads first and writes later fails at once with "database is locked" when another process
    wrote in between. Writers of this process also queue on an asyncio lock first, because
    SQLite's own busy handler waits by sleeping in growing steps, which turns contention
    between concurrent requests into long stalls.
    """
    engine = engine_finder()
    if not isinstance(engine, SQLiteEngine):
        async with engine.transaction():
            yield
        return
    async with (
        _sqlite_writer_lock(),
        engine.transaction(transaction_type=TransactionType.immediate),
    ):
        yield


_writer_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_writer_lock() -> asyncio.Lock:
    # One lock per event loop: workers run each message in a loop of its own.
    loop = asyncio.get_running_loop()
    lock = _writer_locks.get(loop)
    if lock is None:
        lock = _writer_locks[loop] = asyncio.Lock()
    return lock
