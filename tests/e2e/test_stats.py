"""GET /api/conversations:stats and GET /api/insights:top, checked against rows the test stores."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import API_KEY
from tests.factories import batch, child, conversation

HEADERS = {"x-api-key": API_KEY}


def reason(title: str) -> dict[str, str]:
    return {"type": "Reason", "title": title, "description": "d"}


def resolved(outcome: str | None) -> dict[str, Any]:
    return {"type": "Resolution", "title": "r", "description": "d", **({"outcome": outcome} if outcome else {})}


async def seed(http: httpx.AsyncClient) -> None:
    entities = [
        conversation("c-1", mediaType="Call", language="es", dateCreated="2025-01-06T10:00:00Z",
                     insights=[reason("Facturación"), resolved("refunded")]),
        conversation("c-2", mediaType="Call", language="es", dateCreated="2025-01-06T12:00:00Z",
                     insights=[reason("  facturacion "), resolved(None)]),
        conversation("c-3", mediaType="Email", language="en", dateCreated="2025-01-14T09:00:00Z",
                     summary="Refund of a damaged parcel", insights=[reason("FACTURACIÓN"), resolved("refunded")]),
        conversation("c-4", mediaType="Message", language="en", dateCreated="2025-02-02T09:00:00Z",
                     insights=[reason("Delivery"), resolved("rescheduled")]),
        child("a-1", "c-4", agentId="agent-7", dateCreated="2025-02-02T09:10:00Z"),
    ]
    response = await http.post("/api/conversations", json=batch(*entities), headers=HEADERS)
    assert response.status_code == 200, response.text


async def stats(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await http.get("/api/conversations:stats", params=params, headers=HEADERS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_totals_and_groups(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http)
    assert await stats(http) == {"total": 5, "groups": []}
    assert (await stats(http, groupBy="mediaType"))["groups"] == [
        {"key": "Call", "count": 3}, {"key": "Email", "count": 1}, {"key": "Message", "count": 1}]
    assert (await stats(http, groupBy="summaryType"))["groups"] == [
        {"key": "Conversation", "count": 4}, {"key": "Agent", "count": 1}]
    assert (await stats(http, groupBy="agentId", summaryType="Agent"))["groups"] == [{"key": "agent-7", "count": 1}]
    assert (await stats(http, groupBy="insightType"))["groups"] == [
        {"key": "Reason", "count": 4}, {"key": "Resolution", "count": 4}]
    assert (await stats(http, groupBy="outcome"))["groups"] == [
        {"key": "refunded", "count": 2}, {"key": "rescheduled", "count": 1}]
    assert (await stats(http, groupBy="language", limit=1))["groups"] == [{"key": "en", "count": 3}]  # a-1 too


async def test_time_buckets_in_time_order(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http)
    assert (await stats(http, groupBy="week"))["groups"] == [
        {"key": "2025-01-06", "count": 2}, {"key": "2025-01-13", "count": 1}, {"key": "2025-01-27", "count": 2}]
    assert (await stats(http, groupBy="month", summaryType="Conversation"))["groups"] == [
        {"key": "2025-01-01", "count": 3}, {"key": "2025-02-01", "count": 1}]


async def test_stats_take_the_list_filters(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http)
    assert (await stats(http, language="es"))["total"] == 2
    assert (await stats(http, q="refund"))["total"] == 1
    assert (await stats(http, outcome="refunded", dateCreatedFrom="2025-01-10T00:00:00Z"))["total"] == 1


async def test_top_insights_count_titles_together(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http)
    response = await http.get("/api/insights:top", params={"type": "Reason"}, headers=HEADERS)
    assert response.status_code == 200, response.text
    top = response.json()["insights"]
    assert [(t["count"], t["resolvedShare"]) for t in top] == [(3, 2 / 3), (1, 1.0)]
    assert top[0]["title"] in ("Facturación", "facturacion", "FACTURACIÓN") and top[1]["title"] == "Delivery"
    only_es = (await http.get("/api/insights:top", params={"language": "es"}, headers=HEADERS)).json()
    assert [(t["count"], t["resolvedShare"]) for t in only_es["insights"]] == [(2, 0.5)]


@pytest.mark.parametrize(("path", "params", "expected"), [
    ("/api/conversations:stats", {"groupBy": "colour"}, "groupBy must be one of"),
    ("/api/conversations:stats", {"limit": "1001"}, "limit must be between 1 and 1000"),
    ("/api/insights:top", {"type": "Mood"}, "type must be one of Reason, Resolution, ActionItem"),
    ("/api/insights:top", {"summaryType": "Robot"}, "summaryType must be one of"),
])
async def test_bad_arguments_are_a_400(http: httpx.AsyncClient, path: str, params: dict[str, str],
                                       expected: str) -> None:
    response = await http.get(path, params=params, headers=HEADERS)
    assert response.status_code == 400 and expected in response.json()["error"], response.text


async def test_stats_need_the_read_scope(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    created = await http.post("/api/keys", headers=HEADERS, json={"name": "writer", "scopes": ["conversations:write"]})
    key = created.json()["secret"]
    for path in ("/api/conversations:stats", "/api/insights:top"):
        response = await http.get(path, headers={"x-api-key": key})
        expected = {"error": "This key lacks the scope conversations:read"}
        assert (response.status_code, response.json()) == (403, expected)
