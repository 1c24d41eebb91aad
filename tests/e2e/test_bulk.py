"""Export (NDJSON and CSV) and batch delete through the gateway, checked against what was stored."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import asyncpg
import httpx

from tests.conftest import API_KEY
from tests.factories import batch, child, conversation

HEADERS = {"x-api-key": API_KEY}
TRICKY = 'Said "hi",\nthen: a, b; c — ñandú 💬 \\ back\rslash'


async def seed(http: httpx.AsyncClient) -> None:
    insights = [
        {"type": "Reason", "title": "Billing", "description": TRICKY},
        {"type": "Reason", "title": "Roaming", "description": "abroad"},
        {"type": "Resolution", "title": "Refunded", "description": "done", "outcome": "refunded"},
        {"type": "ActionItem", "title": "Call back", "description": "tomorrow"},
    ]
    entities = [
        conversation("c-1", summary=TRICKY, dateCreated="2025-01-06T10:00:00.123Z", insights=insights),
        child("a-1", "c-1", dateCreated="2025-01-06T10:05:00Z"),
        conversation("c-2", conversationId="g-2", language="es", mediaType="Email", generated=False,
                     dateCreated="2025-02-01T00:00:00Z"),
        child("v-1", "g-2", "VirtualAgent", agentId="", dateCreated="2025-02-01T00:01:00Z"),
    ]
    response = await http.post("/api/conversations", json=batch(*entities), headers=HEADERS)
    assert response.status_code == 200, response.text


async def stored(http: httpx.AsyncClient, summary_id: str) -> dict[str, Any]:
    """The summary as GetConversation answers it, less what an export leaves out."""
    body = (await http.get(f"/api/conversations/{summary_id}", headers=HEADERS)).json()["conversation"]
    del body["children"]
    assert "snippet" not in body  # only a search has one
    return dict(body)


async def store_plain(db: asyncpg.Connection, prefix: str, count: int) -> None:
    """Stores `count` Conversations `prefix`-1.. directly, one a second from 2025-01-01
    (the newest last): more rows than an API call would take, cheaply."""
    await db.execute("""
        INSERT INTO summaries (summary_id, summary_type, media_type, language, source_id, summary, generated,
                               date_created, content_hash)
        SELECT $1 || '-' || n, 'Conversation', 'Call', 'en', 's', 'text ' || n, true,
               timestamptz '2025-01-01' + n * interval '1 second', '\\x00'
        FROM generate_series(1, $2::int) AS n""", prefix, count)


async def test_ndjson_export_is_every_summary_as_get_shows_it(http: httpx.AsyncClient) -> None:
    await seed(http)
    response = await http.get("/api/conversations:export", headers=HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.text.endswith("\n")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["summaryId"] for line in lines] == ["v-1", "c-2", "a-1", "c-1"]  # newest first
    for line in lines:
        assert line == await stored(http, line["summaryId"])
    assert lines[3]["summary"] == TRICKY and lines[3]["insights"][0]["description"] == TRICKY


async def test_summaries_without_a_copy_of_their_insights_export_the_same(
        http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    """Summaries stored before migration 013 have no insights_json: both exports look their
    insights up instead, and write the same."""
    await seed(http)

    async def exported() -> tuple[list[dict[str, Any]], str]:
        ndjson = await http.get("/api/conversations:export?format=ndjson", headers=HEADERS)
        table = await http.get("/api/conversations:export?format=csv", headers=HEADERS)
        assert ndjson.status_code == table.status_code == 200
        return [json.loads(line) for line in ndjson.text.splitlines()], table.text

    with_copies = await exported()
    assert await db.fetchval("SELECT count(*) FROM summaries WHERE insights_json IS NULL") == 0
    async with db.transaction():  # summaries are never updated otherwise (migration 009)
        await db.execute("ALTER TABLE summaries DISABLE TRIGGER summaries_not_updated")
        await db.execute("UPDATE summaries SET insights_json = NULL")
        await db.execute("ALTER TABLE summaries ENABLE TRIGGER summaries_not_updated")
    assert await exported() == with_copies
    assert with_copies[0][3]["insights"][0]["description"] == TRICKY


async def test_csv_export_parses_back_to_what_was_stored(http: httpx.AsyncClient) -> None:
    await seed(http)
    response = await http.get("/api/conversations:export", params={"format": "csv"}, headers=HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert [row["summaryId"] for row in rows] == ["v-1", "c-2", "a-1", "c-1"]
    for row in rows:
        got = await stored(http, row["summaryId"])
        assert row["id"] == str(got["id"])
        assert row["summary"] == got["summary"]
        assert row["generated"] == str(got["generated"]).lower()
        for name in ("summaryType", "mediaType", "language", "sourceId", "dateCreated", "createTime"):
            assert row[name] == got[name]
        for name in ("agentId", "conversationId", "parentSummaryId"):
            assert row[name] == got.get(name, "")
        assert json.loads(row["insights"]) == got["insights"]
    c1 = rows[3]
    assert (c1["reasons"], c1["resolutions"], c1["outcomes"], c1["actionItems"]) == (
        "Billing | Roaming", "Refunded", "refunded", "Call back")
    v1 = rows[0]
    assert (v1["conversationId"], v1["parentSummaryId"]) == ("g-2", "c-2")


async def test_export_takes_the_list_filters(http: httpx.AsyncClient) -> None:
    await seed(http)
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({"language": "es"}, ["c-2"]),
        ({"conversationId": "g-2"}, ["v-1", "c-2"]),
        ({"summaryType": "Agent"}, ["a-1"]),
        ({"dateCreatedFrom": "2025-02-01T00:00:00Z"}, ["v-1", "c-2"]),
        ({"insightType": "ActionItem"}, ["c-1"]),
        ({"q": "abroad", "format": "ndjson"}, ["c-1"]),
        ({"generated": "false"}, ["c-2"]),
        ({"language": "fr"}, []),
    ]
    for params, expected in cases:
        response = await http.get("/api/conversations:export", params=params, headers=HEADERS)
        assert response.status_code == 200, (params, response.text)
        assert [json.loads(line)["summaryId"] for line in response.text.splitlines()] == expected, params
    empty = await http.get("/api/conversations:export", params={"language": "fr", "format": "csv"}, headers=HEADERS)
    assert empty.text.splitlines() == [",".join(("id", "summaryId", "summaryType", "mediaType", "language", "agentId",
        "sourceId", "conversationId", "parentSummaryId", "generated", "dateCreated", "createTime", "summary",
        "reasons", "resolutions", "outcomes", "actionItems", "insights"))]


async def test_export_refuses_what_it_cannot_do(http: httpx.AsyncClient) -> None:
    bad = await http.get("/api/conversations:export", params={"format": "xml"}, headers=HEADERS)
    assert (bad.status_code, bad.json()) == (400, {"error": "format must be ndjson or csv"})
    bad = await http.get("/api/conversations:export", params={"summaryType": "Nope"}, headers=HEADERS)
    assert bad.status_code == 400 and bad.json()["error"].startswith("summaryType must be one of")
    anonymous = await http.get("/api/conversations:export")
    assert (anonymous.status_code, anonymous.json()) == (401, {"error": "Unauthorized"})
    post = await http.post("/api/conversations:export", headers=HEADERS)
    assert (post.status_code, post.headers["allow"]) == (405, "GET")


async def test_an_export_of_many_pages_streams_every_row(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    # More rows than one chunk (1000), stored directly: the export's chunking is what is tested.
    await store_plain(db, "bulk", 2500)
    async with http.stream("GET", "/api/conversations:export", headers=HEADERS) as response:
        assert response.status_code == 200
        ids = [json.loads(line)["summaryId"] async for line in response.aiter_lines() if line]
    assert ids == [f"bulk-{n}" for n in range(2500, 0, -1)]


async def test_batch_delete_takes_conversations_whole(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http)
    url = "/api/conversations:batchDelete"
    # Only c-1 is older than the cutoff; its child a-1 goes with it, though a-1 is not older.
    body = {"dateCreatedTo": "2025-01-06T10:01:00Z", "dryRun": True}
    dry = await http.post(url, json=body, headers=HEADERS)
    assert dry.json() == {"deleted": 2, "conversations": 1, "dryRun": True}
    assert await db.fetchval("SELECT count(*) FROM summaries") == 4

    gone = await http.post(url, json={**body, "dryRun": False}, headers=HEADERS)
    assert gone.json() == {"deleted": 2, "conversations": 1, "dryRun": False}
    assert await db.fetchval("SELECT array_agg(summary_id ORDER BY id) FROM summaries") == ["c-2", "v-1"]
    assert await db.fetchval("SELECT count(*) FROM insights") == 0

    # Filters narrow it like a list: a child alone goes alone.
    gone = await http.post(url, json={"dateCreatedTo": "2030-01-01T00:00:00Z", "summaryType": "VirtualAgent"},
                           headers=HEADERS)
    assert gone.json() == {"deleted": 1, "conversations": 0, "dryRun": False}
    again = await http.post(url, json={"dateCreatedTo": "2030-01-01T00:00:00Z"}, headers=HEADERS)
    assert again.json() == {"deleted": 1, "conversations": 1, "dryRun": False}
    assert await db.fetchval("SELECT count(*) FROM summaries") == 0


async def test_batch_delete_in_chunks_deletes_everything_selected(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # More than one chunk (5000 selected rows) of parents, each with a child.
    await db.execute("""
        INSERT INTO summaries (summary_id, summary_type, media_type, language, source_id, summary, generated,
                               date_created, content_hash)
        SELECT 'p-' || n, 'Conversation', 'Call', 'en', 's', 't', true, timestamptz '2020-01-01', '\\x00'
        FROM generate_series(1, 6000) AS n""")
    await db.execute("""
        INSERT INTO summaries (summary_id, summary_type, media_type, language, source_id, summary, generated,
                               date_created, conversation_id, content_hash)
        SELECT 'k-' || n, 'Agent', 'Call', 'en', 's', 't', true, timestamptz '2024-01-01', 'p-' || n, '\\x00'
        FROM generate_series(1, 6000) AS n""")
    body = {"dateCreatedTo": "2021-01-01T00:00:00Z"}
    response = await http.post("/api/conversations:batchDelete", json=body, headers=HEADERS)
    assert response.json() == {"deleted": 12000, "conversations": 6000, "dryRun": False}
    assert await db.fetchval("SELECT count(*) FROM summaries") == 0


async def test_batch_delete_needs_a_cutoff_and_the_delete_scope(http: httpx.AsyncClient) -> None:
    url = "/api/conversations:batchDelete"
    response = await http.post(url, json={"language": "en"}, headers=HEADERS)
    assert (response.status_code, response.json()) == (
        400, {"error": "dateCreatedTo is required: only summaries created before it are deleted"})
    response = await http.post(url, json={"dateCreatedTo": "tomorrow"}, headers=HEADERS)
    assert response.status_code == 400 and response.json()["error"].startswith("dateCreatedTo")
    response = await http.post(url, json={"dateCreatedTo": "2030-01-01T00:00:00Z"})
    assert response.status_code == 401
    response = await http.get(url, headers=HEADERS)
    assert (response.status_code, response.headers["allow"]) == (405, "POST")


async def test_an_export_its_client_leaves_gives_its_connection_back(
        http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await store_plain(db, "left", 20000)
    started = 0
    for _ in range(100):  # more exports than the two allowed at once: each left one must end
        async with http.stream("GET", "/api/conversations:export", headers=HEADERS) as response:
            if response.status_code == 429:  # the service has not yet seen a client leave
                await asyncio.sleep(0.1)
                continue
            assert response.status_code == 200
            async for line in response.aiter_lines():
                assert json.loads(line)["summaryId"] == "left-20000"
                break
        started += 1
        if started == 6:
            break
    assert started == 6
    response = await http.get("/api/conversations:export", params={"format": "csv"}, headers=HEADERS)
    assert response.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(response.text, newline="")))) == 20000
    assert await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'") == 0
