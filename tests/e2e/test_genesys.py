"""What Genesys Cloud Data Actions really send, rendered from the spec's Velocity template."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from tests.conftest import API_KEY
from tests.factories import batch, conversation

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


async def test_conversation_with_a_foreign_parent_is_refused(http: httpx.AsyncClient) -> None:
    body = batch(conversation("c-1", conversationId="c-other"))
    response = await http.post("/api/conversations", json=body, headers=HEADERS)
    assert response.status_code == 400
    assert response.json()["error"] == (
        "entities[0].conversationId must be empty for a Conversation summary (it has no parent)"
    )
