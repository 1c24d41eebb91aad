"""Applies the numbered SQL migrations in migrations/, once each, under an advisory lock."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from services.common.startup import StartupError

log = logging.getLogger("parley.migrate")

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant shared by every replica: concurrent starters wait for each other.
_LOCK_ID = 0x5061726C6579  # "Parley"


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS) -> list[str]:
    """Applies what is not applied yet, each file in its own transaction; returns what ran."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for path in sorted(directory.glob("*.sql")):  # noqa: ASYNC240 (startup only)
            if path.stem in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", path.stem)
            log.info("applied migration %s", path.name)
            applied.append(path.stem)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


async def connect_with_retry(dsn: str, within_seconds: float) -> asyncpg.Connection:
    """Connects, retrying while the database is starting or briefly away."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_seconds
    delay = 0.1
    while True:
        try:
            return await asyncpg.connect(dsn, timeout=5)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            if loop.time() + delay > deadline:
                where = urlsplit(dsn)
                raise StartupError(
                    f"cannot reach PostgreSQL at {where.hostname}:{where.port or 5432} within {within_seconds:g} s "
                    f"(DATABASE_URL; {type(exc).__name__}); is it running, and is the URL right?") from None
            log.warning("database not reachable yet (%s); retrying", type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def _main() -> None:
    from services.common.logs import configure_logging
    from services.ingest.settings import IngestSettings

    settings = IngestSettings()
    configure_logging(settings.log_level, settings.log_format)
    conn = await connect_with_retry(settings.database_url, settings.db_startup_timeout_seconds)
    try:
        applied = await migrate(conn)
        log.info("migrations up to date (%d applied now)", len(applied))
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(_main())
