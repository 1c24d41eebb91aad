"""A service that cannot start releases what it opened."""

from __future__ import annotations

import socket

import asyncpg
import pytest

from services.ingest.__main__ import start as start_ingest
from tests.conftest import ingest_settings


async def _backends(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))


async def test_a_busy_port_closes_the_pool_again(database: str, ingest: int) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        conn = await asyncpg.connect(database)
        try:
            before = await _backends(conn)
            with pytest.raises(RuntimeError):
                await start_ingest(ingest_settings(database, listen=f"127.0.0.1:{port}", pool_min_size=3))
            after = await _backends(conn)
        finally:
            await conn.close()
    assert after == before
