"""INGEST_RETENTION_DAYS: a second ingest with retention on deletes what is older, with children."""

from __future__ import annotations

import asyncio

import asyncpg

from services.ingest.__main__ import start as start_ingest
from tests.conftest import ingest_settings


async def test_retention_deletes_old_conversations_with_their_children(database: str, ingest: int) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("""
            INSERT INTO summaries (summary_id, summary_type, media_type, language, source_id, summary, generated,
                                   date_created, conversation_id, content_hash)
            VALUES ('old', 'Conversation', 'Call', 'en', 's', 't', true, now() - interval '31 days', NULL, '\\x00'),
                   ('old-child', 'Agent', 'Call', 'en', 's', 't', true, now() - interval '1 day', 'old', '\\x00'),
                   ('recent', 'Conversation', 'Call', 'en', 's', 't', true, now() - interval '29 days', NULL, '\\x00')
        """)
        running = await start_ingest(ingest_settings(database, listen="127.0.0.1:0", metrics_listen="",
                                                     retention_days=30, retention_interval_seconds=1))
        try:
            for _ in range(100):  # the job runs at start; wait for it, at most 10 s
                left = await conn.fetchval("SELECT array_agg(summary_id ORDER BY id) FROM summaries")
                if left == ["recent"]:
                    break
                await asyncio.sleep(0.1)
        finally:
            await running.stop(0)
        assert left == ["recent"]
    finally:
        await conn.close()
