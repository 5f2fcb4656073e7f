"""Piccolo's engine and app registry, both from the one settings object.

SQLite at `<data_dir>/botfleet.db` by default; PostgreSQL when DATABASE_URL says so.
"""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from core.settings import Settings, get_settings

# Writers from several processes (API, worker) share one SQLite file: wait, don't fail.
SQLITE_BUSY_TIMEOUT_S = 30


def build_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url and url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": url})
    path = url.removeprefix("sqlite:///") if url else str(settings.sqlite_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_S)


DB = build_engine(get_settings())

APP_REGISTRY = AppRegistry(apps=["tables.piccolo_app", "piccolo_admin.piccolo_app"])
