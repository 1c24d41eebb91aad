"""The counts kept on write (migration 009) answer stats and top insights exactly as the
summaries do: after inserts, single and batch deletes, merges, for every grouping, every
filter they cover and date ranges that start and end inside a day."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.ingest.analytics import GROUPS, Grouping
from services.ingest.domain import INSIGHT_TYPES, parse_entity, prepare
from services.ingest.migrate import MIGRATIONS, migrate
from services.ingest.model import Filters
from services.ingest.storage import Storage, aggregates
from tests.factories import child, conversation

START = datetime(2025, 2, 20, tzinfo=UTC)  # the data spans three months
TITLES = ["Billing", " billing ", "Facturación", "FACTURACION", "Login problem", "Refund", "refund"]


def _insights(rng: random.Random) -> list[dict[str, Any]]:
    insights = []
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(INSIGHT_TYPES)
        outcome = rng.choice([None, "refunded", "fixed"]) if kind == "Resolution" else None
        insights.append({"type": kind, "title": rng.choice(TITLES), "description": "d",
                         **({"outcome": outcome} if outcome else {})})
    return insights


def _entities(rng: random.Random, prefix: str, conversations: int) -> list[dict[str, Any]]:
    entities = []
    for c in range(conversations):
        common = {"mediaType": rng.choice(["Call", "Email", "Message"]), "language": rng.choice(["en", "es", "de"]),
                  "sourceId": rng.choice(["s1", "s2"]), "generated": rng.random() < 0.5}
        when = START + timedelta(minutes=rng.randrange(70 * 24 * 60))
        entities.append(conversation(f"{prefix}{c}", dateCreated=when.isoformat(), insights=_insights(rng), **common))
        for k in range(rng.randint(0, 3)):
            later = when + timedelta(minutes=rng.randrange(600))
            entities.append(child(f"{prefix}{c}-{k}", f"{prefix}{c}", rng.choice(["Agent", "VirtualAgent"]),
                                  agentId=rng.choice(["a1", "a2", "a3"]), dateCreated=later.isoformat(),
                                  insights=_insights(rng), **common))
    return entities


async def _store(storage: Storage, entities: list[dict[str, Any]]) -> None:
    for first in range(0, len(entities), 50):
        chunk = entities[first:first + 50]
        await storage.create(prepare([parse_entity(e, i) for i, e in enumerate(chunk)]))


RANGES: list[tuple[datetime | None, datetime | None]] = [
    (None, None),
    (START + timedelta(days=2), START + timedelta(days=50)),  # whole days, across whole months
    (START + timedelta(days=1, hours=9, minutes=30), START + timedelta(days=57, hours=15)),  # part days at both ends
    (START + timedelta(days=3, hours=2), START + timedelta(days=3, hours=20)),  # inside one day
    (START + timedelta(days=15), START + timedelta(days=25)),  # whole days in one month
    (START + timedelta(days=4, hours=12), None),
    (None, START + timedelta(days=40, hours=6)),
]
NARROWING: list[dict[str, Any]] = [
    {}, {"summary_type": "Agent"}, {"media_type": "Email"}, {"language": "es"}, {"generated": False},
    {"insight_type": "ActionItem"}, {"outcome": "refunded"}, {"agent_id": "a2"}, {"source_id": "s1"},
    {"summary_type": "Conversation", "language": "en", "generated": True},
    {"text": "roaming"},  # not covered: the summaries answer alone
]


def _filters() -> list[Filters]:
    return [Filters(**narrowing, date_from=lo, date_to=hi) for narrowing in NARROWING for lo, hi in RANGES]


async def _assert_counts_agree(storage: Storage) -> int:
    """Every grouping and top-insights question, from the counts and from the summaries alone."""
    checked = 0
    async with storage.connection() as conn:
        for filters in _filters():
            for by in ["", *GROUPS.values()]:
                grouping = Grouping(by, 1000)
                counted = await aggregates.stats(conn, filters, grouping)
                assert counted == await aggregates.stats(conn, filters, grouping, counts=False), (filters, by)
                checked += 1
            for kind in INSIGHT_TYPES:
                counted_top = await aggregates.top_insights(conn, filters, kind, 1000)
                assert counted_top == await aggregates.top_insights(conn, filters, kind, 1000, counts=False), (
                    filters, kind)
    return checked


@pytest.fixture
async def storage(database: str, ingest: int) -> AsyncIterator[Storage]:
    opened = await Storage.open(database, min_size=1, max_size=2, query_seconds=10, acquire_seconds=5)
    yield opened
    await opened.close()


async def test_counts_answer_as_the_summaries_do_through_writes_deletes_and_merges(storage: Storage) -> None:
    rng = random.Random(20251122)
    await _store(storage, _entities(rng, "a", 60))
    assert await _assert_counts_agree(storage) == len(_filters()) * (len(GROUPS) + 1)  # all still queued

    await storage.merge_counts()
    await _store(storage, _entities(rng, "b", 20))  # counted and queued together
    await _assert_counts_agree(storage)

    assert await storage.delete("a3") >= 1  # a counted Conversation and its children
    assert await storage.delete("a7-0") in (0, 1)  # a counted child alone, when a7 has one
    assert await storage.delete("b2") >= 1  # a queued one
    deleted, _ = await storage.delete_many(Filters(date_to=START + timedelta(days=12)), 7)
    assert deleted > 0
    await _assert_counts_agree(storage)

    await storage.merge_counts()
    await _assert_counts_agree(storage)
    async with storage.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM summary_counts WHERE NOT merged") == 0
        assert await conn.fetchval("SELECT count(*) FROM count_queue") == 0


async def test_stats_read_the_counts_where_they_cover_the_question(storage: Storage) -> None:
    """Emptying the counts alone changes a covered answer and not an uncovered one: which
    source answers is decided by the filters, as documented."""
    rng = random.Random(3)
    await _store(storage, _entities(rng, "c", 10))
    assert await storage.merge_counts() > 0  # counted now, no longer queued
    covered, uncovered = Filters(language="en"), Filters(language="en", text="roaming")
    async with storage.connection() as conn:
        before = [await aggregates.stats(conn, f, Grouping("", 1)) for f in (covered, uncovered)]
        assert before[0].total > 0 and before[1].total > 0
        await conn.execute("DELETE FROM summary_counts")
        after = [await aggregates.stats(conn, f, Grouping("", 1)) for f in (covered, uncovered)]
    assert after == [dataclasses.replace(before[0], total=0), before[1]]


async def test_truncating_summaries_empties_the_counts_and_updates_are_refused(storage: Storage) -> None:
    await _store(storage, _entities(random.Random(5), "d", 3))
    async with storage.connection() as conn:
        with pytest.raises(asyncpg.FeatureNotSupportedError, match="never updated"):
            await conn.execute("UPDATE summaries SET language = 'fr'")
        await conn.execute("TRUNCATE summaries CASCADE")
        for table in ("summary_counts", "actor_counts", "title_counts"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_summaries_stored_before_the_counts_are_counted_by_the_migration(
        database: str, tmp_path: Path) -> None:
    """Migration 009 counts what an older version stored, with the trigger's own code."""
    admin = await asyncpg.connect(database)
    name = f"parley_backfill_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = database.rsplit("/", 1)[0] + f"/{name}"
    try:
        before = tmp_path / "before"
        before.mkdir()
        for path in sorted(MIGRATIONS.glob("*.sql")):
            # The schema before the counts, and the function today's writer stores through.
            if path.stem < "009" or path.stem == "013_store_function":
                (before / path.name).write_text(path.read_text())
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn, before)
            opened = await Storage.open(dsn, min_size=1, max_size=1, query_seconds=10, acquire_seconds=5)
            try:
                await _store(opened, _entities(random.Random(11), "e", 15))
                await migrate(conn)  # 009 and after: the counts of what is there
                assert await conn.fetchval("SELECT count(*) FROM summary_counts WHERE NOT merged") == 0
                counted = await conn.fetchval("SELECT sum(n) FROM summary_counts WHERE NOT monthly")
                assert counted == await conn.fetchval("SELECT count(*) FROM summaries")
                await _assert_counts_agree(opened)
            finally:
                await opened.close()
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_delete_and_a_merge_wait_for_each_other_instead_of_deadlocking(storage: Storage,
                                                                               database: str) -> None:
    """Migration 011: a delete takes the merge's lock (shared) before the queue, so the two never
    hold queue rows the other wants. A merge during a delete returns at once; a delete during a
    merge waits for it."""
    await _store(storage, _entities(random.Random(11), "e", 6))
    deleting, merging = await asyncpg.connect(database), await asyncpg.connect(database)
    try:
        async with deleting.transaction():
            assert await deleting.fetchval("DELETE FROM summaries WHERE summary_id = 'e1' RETURNING 1") == 1
            await merging.execute("SET statement_timeout = '5s'")
            assert await merging.fetchval("SELECT parley_merge_counts()") == 0  # left for its next round
        async with merging.transaction():
            assert await merging.fetchval("SELECT parley_merge_counts()") > 0
            waiting = asyncio.create_task(deleting.execute("DELETE FROM summaries WHERE summary_id = 'e2'"))
            await asyncio.sleep(0.5)
            assert not waiting.done()  # behind the merge, not beside it
        assert await asyncio.wait_for(waiting, 5) != "DELETE 0"
    finally:
        await deleting.close()
        await merging.close()
    await _assert_counts_agree(storage)
