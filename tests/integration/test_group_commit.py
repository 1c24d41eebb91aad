"""Group commit (services/ingest/storage/grouped.py) against the real database: single-entity
creates sent at once share one statement, and each still gets its own answer.

asyncio.gather starts every create before the writer task first runs, so with one writer
they all land in the same statement; one transaction id (xmin) on every row shows it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.errors import Unavailable
from services.ingest import domain
from services.ingest.errors import ContentConflict, GenesysIdTaken, MissingParent
from services.ingest.model import Created
from services.ingest.storage import Storage
from tests.factories import child, conversation


@pytest.fixture
async def storage(database: str, ingest: int) -> AsyncIterator[Storage]:
    opened = await Storage.open(database, min_size=1, max_size=2, query_seconds=10, acquire_seconds=5,
                                group_writers=1)
    yield opened
    await opened.close()


def _batch(entity: dict[str, Any]) -> Any:
    return domain.prepare([domain.parse_entity(entity, 0)])


async def _together(storage: Storage, *entities: dict[str, Any]) -> list[Created | BaseException]:
    return await asyncio.gather(*(storage.create(_batch(e)) for e in entities), return_exceptions=True)


async def _transactions(storage: Storage, summary_ids: list[str]) -> int:
    """How many transactions wrote these summaries."""
    async with storage.connection() as conn:
        return int(await conn.fetchval(
            "SELECT count(DISTINCT xmin::text) FROM summaries WHERE summary_id = ANY($1::text[])", summary_ids))


async def test_creates_sent_at_once_share_one_statement_and_keep_their_own_ids(storage: Storage) -> None:
    ids = [f"g{i}" for i in range(20)]
    answers = await _together(storage, *(conversation(i, summary=f"Summary number {i}") for i in ids))

    assert all(isinstance(a, Created) and a.inserted == 1 for a in answers), answers
    created = {sid: a.ids[sid] for sid, a in zip(ids, answers, strict=True) if isinstance(a, Created)}
    async with storage.connection() as conn:
        stored = {r["summary_id"]: (r["id"], r["summary"]) for r in await conn.fetch(
            "SELECT id, summary_id, summary FROM summaries")}
    assert stored == {sid: (created[sid], f"Summary number {sid}") for sid in ids}
    assert await _transactions(storage, ids) == 1


async def test_a_replay_and_a_conflict_in_a_group_are_answered_as_alone(storage: Storage) -> None:
    first = await storage.create(_batch(conversation("kept")))
    replay, conflict, fresh = await _together(
        storage, conversation("kept"), conversation("kept", summary="Other text"), conversation("new"))

    assert replay == Created(first.ids, 0)
    assert isinstance(conflict, ContentConflict) and "'kept'" in conflict.message
    assert isinstance(fresh, Created) and fresh.inserted == 1


async def test_one_summary_id_twice_in_a_burst_stores_it_once(storage: Storage) -> None:
    same, again, other = await _together(
        storage, conversation("twice"), conversation("twice"), conversation("twice", summary="Changed"))

    assert isinstance(same, Created) and same.inserted == 1
    assert again == Created(same.ids, 0)  # the later one went in the next statement: a replay
    assert isinstance(other, ContentConflict)
    async with storage.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM summaries WHERE summary_id = 'twice'") == 1
        assert await conn.fetchval("SELECT count(*) FROM insights") == 0


async def test_a_member_the_database_refuses_fails_alone(storage: Storage) -> None:
    """A Genesys id already taken fails the shared statement; it is written again one by one,
    so only that member hears of it."""
    await storage.create(_batch(conversation("holder", conversationId="genesys-1")))
    ids = ["a1", "a2", "a3"]
    answers = await _together(storage, conversation("a1"), conversation("taker", conversationId="genesys-1"),
                              conversation("a2"), conversation("a3"))

    assert isinstance(answers[1], GenesysIdTaken)
    assert all(isinstance(a, Created) and a.inserted == 1 for a in (answers[0], *answers[2:]))
    async with storage.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM summaries WHERE summary_id = 'taker'") == 0
    assert await _transactions(storage, ids) == 3  # each in its own statement after the failure


async def test_children_in_a_group_find_their_stored_parents_by_either_id(storage: Storage) -> None:
    await storage.create(_batch(conversation("parent", conversationId="genesys-p")))
    by_id, by_genesys, orphan, wrong_kind = await _together(
        storage, child("c1", "parent"), child("c2", "genesys-p"), child("c3", "nobody"), child("c4", "c0"))

    assert isinstance(by_id, Created) and isinstance(by_genesys, Created)
    assert isinstance(orphan, MissingParent) and "'nobody' names no stored summary" in orphan.message
    assert isinstance(wrong_kind, MissingParent)
    async with storage.connection() as conn:
        rows = await conn.fetch("SELECT summary_id, conversation_id, genesys_conversation_id FROM summaries"
                                " WHERE summary_type = 'Agent' ORDER BY summary_id")
    assert [tuple(r) for r in rows] == [("c1", "parent", None), ("c2", "parent", "genesys-p")]


async def test_a_create_cancelled_while_it_waits_is_not_stored(storage: Storage) -> None:
    async with storage.connection(), storage.connection():  # the whole pool: the writer waits for one
        first = asyncio.ensure_future(storage.create(_batch(conversation("first"))))
        queued = asyncio.ensure_future(storage.create(_batch(conversation("queued"))))
        await asyncio.sleep(0.1)
        queued.cancel()
        await asyncio.sleep(0.1)
        assert not first.done()
    assert isinstance(await first, Created)
    with pytest.raises(asyncio.CancelledError):
        await queued
    await storage.create(_batch(conversation("after")))  # the writer goes on to the next ones
    async with storage.connection() as conn:
        assert {r[0] for r in await conn.fetch("SELECT summary_id FROM summaries")} == {"first", "after"}


async def test_every_member_hears_when_the_database_is_away(database: str, ingest: int) -> None:
    away = await Storage.open(database, min_size=0, max_size=1, query_seconds=10, acquire_seconds=0.2,
                              group_writers=1)
    try:
        async with away.connection():  # its only connection, held: the writer cannot get one
            answers = await _together(away, conversation("x1"), conversation("x2"), conversation("x3"))
        assert all(isinstance(a, Unavailable) for a in answers), answers
    finally:
        await away.close()
