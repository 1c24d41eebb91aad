"""The settings ingest gives its PostgreSQL connections, as a connection of its pool sees them."""

from __future__ import annotations

from services.ingest.storage import Storage
from tests.conftest import ingest_settings


async def test_connections_run_without_parallel_workers_unless_told(database: str) -> None:
    for parallel_workers, shown in ((ingest_settings(database).parallel_workers, "0"), (3, "3")):
        storage = await Storage.open(database, min_size=1, max_size=1, query_seconds=10, acquire_seconds=5,
                                     parallel_workers=parallel_workers)
        try:
            async with storage.connection() as conn:
                settings = await conn.fetchrow("SELECT current_setting('max_parallel_workers_per_gather') AS workers,"
                                               " current_setting('plan_cache_mode') AS plans")
        finally:
            await storage.close()
        assert (settings["workers"], settings["plans"]) == (shown, "force_custom_plan")
