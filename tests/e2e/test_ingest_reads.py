"""Reads and deletes: get with children, list with filters and paging, cascading delete."""

from __future__ import annotations

import asyncpg
import httpx

from tests.conftest import API_KEY
from tests.factories import batch, child, conversation

HEADERS = {"x-api-key": API_KEY}


async def seed(http: httpx.AsyncClient, *entities: dict[str, object]) -> None:
    response = await http.post("/api/conversations", json=batch(*entities), headers=HEADERS)
    assert response.status_code == 200, response.text


async def test_get_returns_insights_and_children(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    insight = {"type": "Resolution", "title": "Done", "description": "Fixed", "outcome": "Resolved"}
    await seed(http, conversation("c-1", insights=[insight]), child("va-1", "c-1", "VirtualAgent",
               dateCreated="2025-12-23T15:25:00Z"), child("a-1", "c-1"))

    response = await http.get("/api/conversations/c-1", headers=HEADERS)

    assert response.status_code == 200
    got = response.json()["conversation"]
    assert got["summaryId"] == "c-1"
    assert got["id"] == 1
    assert got["insights"] == [insight]
    assert got["dateCreated"] == "2025-12-23T15:30:00.000Z"
    assert [c["summaryId"] for c in got["children"]] == ["va-1", "a-1"]
    assert got["children"][1]["agentId"] == "agent-1"
    assert got["children"][1]["conversationId"] == "c-1"


async def test_list_pages_through_everything_newest_first(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http, *(conversation(f"c-{i:02}", dateCreated=f"2025-12-{i + 1:02}T10:00:00Z") for i in range(7)))
    seen: list[str] = []
    token = ""

    for _ in range(10):
        response = await http.get("/api/conversations", params={"pageSize": 3, "pageToken": token}, headers=HEADERS)
        assert response.status_code == 200
        seen += [c["summaryId"] for c in response.json()["conversations"]]
        token = response.json()["nextPageToken"]
        if not token:
            break

    assert seen == [f"c-{i:02}" for i in reversed(range(7))]


async def test_list_filters(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(
        http,
        conversation("c-1", mediaType="Email", dateCreated="2025-01-01T00:00:00Z"),
        conversation("c-2", language="es", dateCreated="2025-02-01T00:00:00Z"),
        child("a-1", "c-1", agentId="agent-7", dateCreated="2025-03-01T00:00:00Z"),
        child("va-1", "c-2", "VirtualAgent", sourceId="ivr", dateCreated="2025-04-01T00:00:00Z"),
    )

    async def ids(**params: str) -> list[str]:
        response = await http.get("/api/conversations", params=params, headers=HEADERS)
        assert response.status_code == 200, response.text
        return [c["summaryId"] for c in response.json()["conversations"]]

    assert await ids(summaryType="Conversation") == ["c-2", "c-1"]
    assert await ids(mediaType="Email") == ["c-1"]
    assert await ids(language="es") == ["c-2"]
    assert await ids(agentId="agent-7") == ["a-1"]
    assert await ids(sourceId="ivr") == ["va-1"]
    assert await ids(conversationId="c-2") == ["va-1"]
    assert await ids(dateCreatedFrom="2025-02-01T00:00:00Z", dateCreatedTo="2025-04-01T00:00:00Z") == ["a-1", "c-2"]
    assert await ids(summaryType="Agent") == ["a-1"]
    unknown = await http.get("/api/conversations", params={"summaryType": "Agent", "unknownParameter": "x"},
                             headers=HEADERS)
    assert (unknown.status_code, unknown.json()) == (400, {"error": "Unknown query parameter 'unknownParameter'"})


async def test_list_rejects_bad_arguments(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http, *(conversation(f"c-{i}") for i in range(3)))
    first = await http.get("/api/conversations", params={"pageSize": 1}, headers=HEADERS)
    token = first.json()["nextPageToken"]

    cases = {
        (("summaryType", "Bot"),): "summaryType must be one of Conversation, Agent, VirtualAgent",
        (("dateCreatedFrom", "yesterday"),): "dateCreatedFrom must be an ISO 8601 timestamp with a zone, "
                                             "e.g. 2025-12-23T15:30:00.000Z",
        (("pageToken", "garbage"),): "pageToken is not a token this service issued",
        (("pageToken", token), ("language", "es")): "pageToken was issued for different filters; "
                                                     "start again without it",
        (("pageSize", "-1"),): "pageSize must not be negative",
    }
    for params, message in cases.items():
        response = await http.get("/api/conversations", params=dict(params), headers=HEADERS)
        assert (response.status_code, response.json()) == (400, {"error": message})


async def test_delete_parent_cascades_to_children(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http, conversation("c-1", insights=[{"type": "Reason", "title": "t", "description": "d"}]),
               child("a-1", "c-1"), child("va-1", "c-1", "VirtualAgent"), conversation("c-2"))

    response = await http.delete("/api/conversations/c-1", headers=HEADERS)

    assert response.json() == {"summaryId": "c-1", "deleted": 3}
    assert [r["summary_id"] for r in await db.fetch("SELECT summary_id FROM summaries")] == ["c-2"]
    assert await db.fetchval("SELECT count(*) FROM insights") == 0
    again = await http.delete("/api/conversations/c-1", headers=HEADERS)
    assert (again.status_code, again.json()) == (404, {"error": "Conversation summary 'c-1' not found"})


async def test_delete_child_deletes_only_it(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http, conversation("c-1"), child("a-1", "c-1"), child("a-2", "c-1"))

    response = await http.delete("/api/conversations/a-1", headers=HEADERS)

    assert response.json() == {"summaryId": "a-1", "deleted": 1}
    assert sorted(r["summary_id"] for r in await db.fetch("SELECT summary_id FROM summaries")) == ["a-2", "c-1"]
