"""Batches: idempotent replays, conflicts, atomicity and the parent/child hierarchy."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.conftest import API_KEY
from tests.factories import batch, child, conversation

HEADERS = {"x-api-key": API_KEY}


async def post(http: httpx.AsyncClient, *entities: dict[str, object]) -> httpx.Response:
    return await http.post("/api/conversations", json=batch(*entities), headers=HEADERS)


async def count(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT count(*) FROM summaries"))


async def test_identical_retry_is_a_replay_with_the_same_ids(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    entities = (conversation("c-1", insights=[{"type": "Reason", "title": "t", "description": "d"}]),
                child("a-1", "c-1"))
    first = await post(http, *entities)

    retry = await post(http, *entities)

    assert first.json() == {"success": True, "inserted": 2,
                            "conversations": [{"id": 1, "summaryId": "c-1"}, {"id": 2, "summaryId": "a-1"}]}
    assert retry.status_code == 200
    assert retry.json() == {"success": True, "inserted": 0, "conversations": first.json()["conversations"]}
    assert await count(db) == 2
    assert await db.fetchval("SELECT count(*) FROM insights") == 1


async def test_replay_recognises_the_same_instant_written_differently(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await post(http, conversation("c-1", dateCreated="2025-12-23T15:30:00.000Z"))
    retry = await post(http, conversation("c-1", dateCreated="2025-12-23T16:30:00+01:00"))
    assert (retry.status_code, retry.json()["inserted"]) == (200, 0)


async def test_partial_replay_stores_only_the_new_ones(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await post(http, conversation("c-1"))

    response = await post(http, conversation("c-1"), conversation("c-2"))

    body = response.json()
    assert (body["success"], body["inserted"]) == (True, 1)
    assert [c["summaryId"] for c in body["conversations"]] == ["c-1", "c-2"]
    assert body["conversations"][0]["id"] == 1
    assert body["conversations"][1]["id"] == await db.fetchval("SELECT id FROM summaries WHERE summary_id = 'c-2'")


async def test_same_id_with_different_content_is_a_409(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await post(http, conversation("c-1", summary="first"))

    response = await post(http, conversation("c-1", summary="second"))

    assert response.status_code == 409
    assert response.json() == {"error": "summaryId 'c-1' is already stored with different content"}
    assert await db.fetchval("SELECT summary FROM summaries") == "first"


async def test_conflict_aborts_the_whole_batch(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await post(http, conversation("c-1", summary="first"))

    response = await post(http, conversation("c-new"), child("a-new", "c-new"), conversation("c-1", summary="changed"))

    assert response.status_code == 409
    assert await count(db) == 1  # c-new and a-new were rolled back with it


async def test_one_bad_entity_leaves_no_rows(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    response = await post(http, conversation("c-1"), conversation("c-2"), conversation("c-3", mediaType="Pigeon"))

    assert response.status_code == 400
    assert response.json()["error"].startswith("entities[2].mediaType")
    assert await count(db) == 0


async def test_same_id_twice_in_one_batch_is_one_summary(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    """As a retried request is: the same content again is the same summary, stored once."""
    response = await post(http, conversation("c-1"), conversation("c-2"), conversation("c-1"))

    assert response.status_code == 200
    body = response.json()
    assert body["inserted"] == 2
    assert [c["summaryId"] for c in body["conversations"]] == ["c-1", "c-2", "c-1"]
    assert body["conversations"][0]["id"] == body["conversations"][2]["id"]
    assert await count(db) == 2


async def test_same_id_twice_in_one_batch_with_other_content_is_a_409(http: httpx.AsyncClient,
                                                                      db: asyncpg.Connection) -> None:
    response = await post(http, conversation("c-1"), conversation("c-2"), conversation("c-1", summary="Other."))

    assert response.status_code == 409
    assert response.json() == {"error": "entities[2].summaryId 'c-1' appears twice in the batch with different "
                                        "content (also entities[0])"}
    assert await count(db) == 0


async def test_child_may_follow_its_parent_in_the_same_batch(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    response = await post(http, conversation("c-1"), child("va-1", "c-1", "VirtualAgent"), child("a-1", "c-1"))
    assert (response.status_code, response.json()["inserted"]) == (200, 3)


async def test_child_before_its_parent_in_the_batch_is_a_404(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    response = await post(http, child("a-1", "c-1"), conversation("c-1"))

    assert response.status_code == 404
    assert response.json()["error"] == (
        "entities[0].conversationId 'c-1' names no stored summary; "
        "send the parent Conversation first or earlier in the same batch"
    )
    assert await count(db) == 0


async def test_child_of_an_unknown_parent_is_a_404(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    response = await post(http, child("a-1", "nobody"))
    assert response.status_code == 404
    assert "'nobody' names no stored summary" in response.json()["error"]


async def test_child_of_a_child_is_a_404(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await post(http, conversation("c-1"), child("a-1", "c-1"))

    stored = await post(http, child("a-2", "a-1"))
    same_batch = await post(http, conversation("c-2"), child("a-3", "c-2"), child("a-4", "a-3"))

    assert stored.status_code == 404
    assert stored.json()["error"].startswith("entities[0].conversationId 'a-1' names a Agent summary, not a Conv")
    assert same_batch.status_code == 404
    assert same_batch.json()["error"] == "entities[2].conversationId 'a-3' names a Agent summary, not a Conversation"
    assert await count(db) == 2


async def test_database_enforces_the_hierarchy_too(db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO summaries (summary_id, summary_type, media_type, language, source_id, summary, generated,"
        " date_created, content_hash) VALUES ('c', 'Conversation', 'Call', 'en', 's', 's', true, now(), '')"
    )
    try:
        await db.execute(
            "INSERT INTO summaries (summary_id, summary_type, media_type, language, source_id, summary, generated,"
            " date_created, conversation_id, content_hash)"
            " VALUES ('a', 'Agent', 'Call', 'en', 's', 's', true, now(), 'missing', '')"
        )
    except asyncpg.ForeignKeyViolationError:
        pass
    else:
        raise AssertionError("an Agent with a missing parent was stored")


async def test_database_keeps_virtual_agents_under_a_conversation(db: asyncpg.Connection) -> None:
    insert = ("INSERT INTO summaries (summary_id, summary_type, media_type, language, source_id, summary, generated,"
              " date_created, content_hash) VALUES ($1, $2, 'Email', 'en', 's', 's', true, now(), '')")
    await db.execute(insert, "a", "Agent")  # an Agent may stand alone (the spec's example 3)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(insert, "va", "VirtualAgent")
