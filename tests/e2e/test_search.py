"""GET /api/conversations?q=: full-text search stemmed in each row's language, with snippets,
relevance order, and the insight, outcome and generated filters."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from services.ingest.storage import reads
from tests.conftest import API_KEY
from tests.factories import batch, child, conversation

HEADERS = {"x-api-key": API_KEY}


def insight(kind: str, title: str, description: str, outcome: str | None = None) -> dict[str, Any]:
    return {"type": kind, "title": title, "description": description, **({"outcome": outcome} if outcome else {})}


async def seed(http: httpx.AsyncClient) -> None:
    entities = [
        conversation("es-1", language="es", summary="El cliente preguntó por sus facturas pendientes.",
                     dateCreated="2025-01-01T10:00:00Z",
                     insights=[insight("Reason", "Facturación", "Dudas sobre cobros duplicados"),
                               insight("Resolution", "Reembolso", "Se emitió un reembolso", "refunded")]),
        conversation("en-1", language="en", summary="The customer asked about refunds for damaged parcels.",
                     dateCreated="2025-01-02T10:00:00Z", generated=False,
                     insights=[insight("Reason", "Refund request", "Parcel arrived broken")]),
        conversation("en-2", language="en", summary="Caller wanted to change the delivery address.",
                     dateCreated="2025-01-03T10:00:00Z",
                     insights=[insight("ActionItem", "Update address", "Agent updates the CRM")]),
        child("a-1", "en-2", summary="Agent confirmed the new address and refunded the fee.",
              dateCreated="2025-01-03T10:05:00Z"),
    ]
    response = await http.post("/api/conversations", json=batch(*entities), headers=HEADERS)
    assert response.status_code == 200, response.text


async def ids(http: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await http.get("/api/conversations", params=params, headers=HEADERS)
    assert response.status_code == 200, response.text
    return [c["summaryId"] for c in response.json()["conversations"]]


async def test_stemmed_in_each_language(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http)
    assert await ids(http, q="factura") == ["es-1"]  # "facturas" stemmed by the Spanish dictionary
    assert await ids(http, q="refund") == ["a-1", "en-1"]  # "refunds", "refunded": English stems; newest first
    assert await ids(http, q="cobro") == ["es-1"]  # an insight's description is searched too
    assert await ids(http, q="the") == []  # a stop word finds nothing
    assert await ids(http, q='"delivery address"') == ["en-2"]
    assert await ids(http, q="refund -parcels") == ["a-1"]


async def test_search_combines_with_every_filter(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http)
    assert await ids(http, q="refund", summaryType="Agent") == ["a-1"]
    assert await ids(http, q="refund", language="en", summaryType="Conversation") == ["en-1"]
    assert await ids(http, q="refund", dateCreatedTo="2025-01-03T00:00:00Z") == ["en-1"]
    assert await ids(http, insightType="Reason") == ["en-1", "es-1"]
    assert await ids(http, insightType="ActionItem") == ["en-2"]
    assert await ids(http, outcome="refunded") == ["es-1"]
    assert await ids(http, generated="false") == ["en-1"]
    assert await ids(http, q="address", conversationId="en-2") == ["a-1"]
    # Within one language, that language's stemmer and index alone (migration 010).
    assert await ids(http, q="facturas", language="es") == ["es-1"]
    assert await ids(http, q="factura", language="en") == []
    assert await ids(http, q="refund -parcels", language="en") == ["a-1"]
    assert await ids(http, q="the", language="en") == []


async def test_snippets_mark_the_matches(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http)
    found = (await http.get("/api/conversations", params={"q": "facturas"}, headers=HEADERS)).json()
    plain = (await http.get("/api/conversations", headers=HEADERS)).json()
    assert "<mark>facturas</mark>" in found["conversations"][0]["snippet"]
    assert all("snippet" not in c for c in plain["conversations"])  # only a search has one


async def test_relevance_order_pages_through_every_match(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await seed(http)
    best = await ids(http, q="address", orderBy="relevance")
    assert best[0] == "en-2"  # the summary (weight A) and its insight (B) both match
    seen: list[str] = []
    token = ""
    while True:
        params: dict[str, str | int] = {"q": "refund or address", "orderBy": "relevance", "pageSize": 1,
                                        "pageToken": token}
        page = (await http.get("/api/conversations", params=params, headers=HEADERS)).json()
        seen += [c["summaryId"] for c in page["conversations"]]
        token = page["nextPageToken"]
        if not token:
            break
    assert sorted(seen) == ["a-1", "en-1", "en-2"]


async def _all_pages(http: httpx.AsyncClient, **params: Any) -> list[str]:
    seen: list[str] = []
    token = ""
    while True:
        page = (await http.get("/api/conversations", params={**params, "pageSize": 2, "pageToken": token},
                               headers=HEADERS)).json()
        seen += [c["summaryId"] for c in page["conversations"]]
        token = page["nextPageToken"]
        if not token:
            return seen


async def test_walk_and_index_answer_alike(http: httpx.AsyncClient, db: asyncpg.Connection,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Storage.list walks the newest PROBE_ROWS, then WALK_ROWS summaries first and reads the
    index when that finds too few (at once when the probe finds none); relevance ranks the
    newest RANKED matches. Shrunk here so every path runs."""
    entities = [conversation(f"c{n:02}", dateCreated=f"2025-02-{1 + n // 2:02}T{10 + n % 2}:00:00Z",
                             summary="Customer asked for a refund." if n % 3 == 0 else "Caller changed an address.")
                for n in range(40)]
    entities[1]["summary"] = "An old telescope order."  # one rare word, far down the walk
    assert (await http.post("/api/conversations", json=batch(*entities), headers=HEADERS)).status_code == 200
    refunds = [f"c{n:02}" for n in reversed(range(40)) if n % 3 == 0]  # newest first
    monkeypatch.setattr(reads, "PROBE_ROWS", 3)
    monkeypatch.setattr(reads, "WALK_ROWS", 15)  # five of them match: walks serve the first pages
    monkeypatch.setattr(reads, "RANKED", 5)
    assert await _all_pages(http, q="refund") == refunds  # probe, then walk; the index for the last pages
    assert await _all_pages(http, q="telescope") == ["c01"]
    assert await _all_pages(http, q="refund", language="en") == refunds
    assert await _all_pages(http, q="telescope", language="en") == ["c01"]
    assert await _all_pages(http, q="refund", dateCreatedTo="2025-02-10T00:00:00Z") == [
        r for r in refunds if r < "c18"]
    ranked = await _all_pages(http, q="refund", orderBy="relevance")
    assert ranked == refunds[:5]  # the newest five, equally relevant: then by id, newest first
    monkeypatch.setattr(reads, "WALK_ROWS", 2)  # too short to find five: the index answers alike
    assert await _all_pages(http, q="refund", orderBy="relevance") == ranked


async def test_relevance_without_a_search_is_newest_first(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    """Nothing to rank by: the order a list without orderBy has (the contract cannot make it an error)."""
    await seed(http)
    assert await ids(http) == ["a-1", "en-2", "en-1", "es-1"]
    assert await ids(http, orderBy="relevance") == ["a-1", "en-2", "en-1", "es-1"]
