"""The seed's manage_db commands: statistics, cleanup, recent users, one session."""

from __future__ import annotations

from piccolo.conf.apps import Finder


async def table_counts() -> dict[str, int]:
    """Rows per table of every registered app; empty when nothing is migrated yet."""
    counts: dict[str, int] = {}
    for table in Finder().get_table_classes():
        if await table.table_exists():
            counts[table._meta.tablename] = await table.count()
    return counts
