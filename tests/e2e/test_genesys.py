"""What Genesys Cloud Data Actions really send, rendered from the spec's Velocity template."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from tests.conftest import API_KEY
from tests.factories import batch, child, conversation

HEADERS = {"x-api-key": API_KEY, "content-type": "application/json"}
INSIGHTS = [{"type": "Reason", "title": "Información", "description": "El cliente quiere conocer detalles."}]

# The spec's template rendered the way Velocity does for a typical call: agentId
# null, conversationId "" on a Conversation, generated bare, insights injected raw.
RENDERED = """{
  "entities": [
    {
      "summaryType": "Conversation",
      "mediaType": "Call",
      "language": "es",
      "summaryId": "genesys-0001",
      "agentId":  null ,
      "sourceId": "genesys-flow-main",
      "summary": "Resumen \\"citado\\" de la llamada",
      "conversationId": "",
      "generated": true,
      "dateCreated": "2025-12-23T15:30:00.000Z"
      %s
    }
  ]
}"""


async def post_raw(http: httpx.AsyncClient, text: str) -> httpx.Response:
    return await http.post("/api/conversations", content=text.encode(), headers=HEADERS)


@pytest.mark.parametrize(
    "insights_fragment",
    [
        ',"insights": ' + json.dumps(INSIGHTS, ensure_ascii=False),  # a JSON array
        ',"insights": ' + json.dumps(json.dumps(INSIGHTS, ensure_ascii=False)),  # stringified, as documented
        ',"insights": "[{\\"type\\":\\"Reason\\",\\"title\\":\\"Información\\",'
        '\\"description\\":\\"El cliente quiere conocer detalles.\\"}]"',  # the spec's own example string
    ],
)
async def test_rendered_template_with_insights(
    http: httpx.AsyncClient, db: asyncpg.Connection, insights_fragment: str
) -> None:
    response = await post_raw(http, RENDERED % insights_fragment)

    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 1
    row = await db.fetchrow("SELECT agent_id, conversation_id, summary FROM summaries")
    assert tuple(row) == (None, None, 'Resumen "citado" de la llamada')
    assert await db.fetchval("SELECT title FROM insights") == "Información"


@pytest.mark.parametrize("insights_fragment", ["", ',"insights": ""', ',"insights": null', ',"insights": []'])
async def test_rendered_template_without_insights(
    http: httpx.AsyncClient, db: asyncpg.Connection, insights_fragment: str
) -> None:
    response = await post_raw(http, RENDERED % insights_fragment)

    assert response.status_code == 200, response.text
    assert await db.fetchval("SELECT count(*) FROM insights") == 0


@pytest.mark.parametrize("generated", [True, False])
async def test_generated_bare_boolean(http: httpx.AsyncClient, db: asyncpg.Connection, generated: bool) -> None:
    text = (RENDERED % "").replace('"generated": true', f'"generated": {json.dumps(generated)}')
    response = await post_raw(http, text)
    assert response.status_code == 200, response.text
    assert await db.fetchval("SELECT generated FROM summaries") is generated


@pytest.mark.parametrize(
    ("field", "leftover"),
    [
        ("summary", "$esc.jsonString(${input.summary})"),
        ("summary", "${input.summary}"),
        ("summaryId", "$esc.jsonString(${input.summaryId})"),
        ("dateCreated", "${input.dateCreated}"),
        ("conversationId", "$esc.jsonString(${input.conversationId})"),
        ("insights", "${input.insights}"),
    ],
)
async def test_unrendered_velocity_is_a_400_naming_the_field(
    http: httpx.AsyncClient, db: asyncpg.Connection, field: str, leftover: str
) -> None:
    response = await http.post("/api/conversations", json=batch(conversation(**{field: leftover})), headers=HEADERS)

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"entities[0].{field} ")
    assert await db.fetchval("SELECT count(*) FROM summaries") == 0


async def test_conversation_echoing_its_own_id_as_parent_is_accepted(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = batch(conversation("c-self", conversationId="c-self"))
    response = await http.post("/api/conversations", json=body, headers=HEADERS)
    assert response.status_code == 200
    assert await db.fetchval("SELECT conversation_id FROM summaries") is None


async def test_conversation_with_a_genesys_id_links_children_by_either_id(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    parent = conversation("c-1", conversationId="g-1")
    first = batch(parent, child("a-1", "g-1"))
    response = await http.post("/api/conversations", json=first, headers=HEADERS)
    assert response.status_code == 200, response.text
    # Later requests link by either id: the stored parent is found by its Genesys id too.
    later = batch(child("a-2", "c-1"), {**child("v-1", "g-1"), "summaryType": "VirtualAgent"})
    response = await http.post("/api/conversations", json=later, headers=HEADERS)
    assert response.status_code == 200, response.text
    rows = await db.fetch("SELECT summary_id, conversation_id, genesys_conversation_id FROM summaries ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("c-1", None, "g-1"), ("a-1", "c-1", "g-1"), ("a-2", "c-1", None), ("v-1", "c-1", "g-1")]

    got = (await http.get("/api/conversations/c-1", headers=HEADERS)).json()["conversation"]
    assert got["conversationId"] == "g-1" and "parentSummaryId" not in got
    # Each child reads back as sent, and names its parent's summaryId.
    assert [(c["summaryId"], c["conversationId"], c["parentSummaryId"]) for c in got["children"]] == [
        ("a-1", "g-1", "c-1"), ("a-2", "c-1", "c-1"), ("v-1", "g-1", "c-1")]

    # A filter takes either id and finds the same conversation.
    for ref in ("g-1", "c-1"):
        listed = (await http.get(f"/api/conversations?conversationId={ref}", headers=HEADERS)).json()
        expected = {"a-1", "a-2", "v-1"} | ({"c-1"} if ref == "g-1" else set())
        assert {c["summaryId"] for c in listed["conversations"]} == expected, ref
    stats = (await http.get("/api/conversations:stats?conversationId=g-1", headers=HEADERS)).json()
    assert stats["total"] == 4

    # Replays are replays; deleting the parent takes the children linked either way.
    response = await http.post("/api/conversations", json=first, headers=HEADERS)
    assert response.json()["inserted"] == 0
    response = await http.delete("/api/conversations/c-1", headers=HEADERS)
    assert response.json()["deleted"] == 4


async def test_a_second_conversation_with_the_same_genesys_id_conflicts(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await http.post("/api/conversations", json=batch(conversation("c-1", conversationId="g-1")), headers=HEADERS)
    response = await http.post(
        "/api/conversations", json=batch(conversation("c-2", conversationId="g-1")), headers=HEADERS)
    assert response.status_code == 409
    assert response.json()["error"].endswith("one Conversation summary per Genesys conversation")
    assert await db.fetchval("SELECT count(*) FROM summaries") == 1


async def test_a_child_naming_an_unknown_genesys_id_is_refused(http: httpx.AsyncClient) -> None:
    await http.post("/api/conversations", json=batch(conversation("c-1", conversationId="g-1")), headers=HEADERS)
    response = await http.post("/api/conversations", json=batch(child("a-1", "g-2")), headers=HEADERS)
    assert response.status_code == 404
    assert response.json()["error"].startswith("entities[0].conversationId 'g-2' names no stored summary")
