"""Every example of docs/specs/conversations-api.md, verbatim, through the gateway."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import httpx

from gateway.envoy import Gateway
from testkit.spec import CONVERSATIONS, curl_example, json_example, json_examples
from tests.conftest import API_KEY

HEADERS = {"x-api-key": API_KEY, "content-type": "application/json"}


async def post(http: httpx.AsyncClient, body: object) -> httpx.Response:
    return await http.post("/api/conversations", json=body, headers=HEADERS)


async def test_example_1_parent_conversation_with_insights(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    response = await post(http, json_example(CONVERSATIONS, "1. Parent Conversation"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "success": True, "inserted": 1, "conversations": [{"id": 1, "summaryId": "conv-2025-001"}]
    }
    assert '"id":1' in response.text  # a JSON number, not "1"
    insights = await db.fetch("SELECT type, title, outcome FROM insights ORDER BY position")
    assert [tuple(r) for r in insights] == [
        ("Reason", "Información sobre el paquete Movistar Fusión", None),
        ("Resolution", "Upgrade procesado", "Resuelto"),
        ("ActionItem", "Seguimiento de activación", None),
    ]


async def test_example_2_children_link_to_the_parent(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await post(http, json_example(CONVERSATIONS, "1. Parent Conversation"))

    response = await post(http, json_example(CONVERSATIONS, "2. Child Summaries"))

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "inserted": 2,
        "conversations": [{"id": 2, "summaryId": "va-2025-001"}, {"id": 3, "summaryId": "agent-2025-001"}],
    }
    rows = await db.fetch("SELECT summary_id, conversation_id, agent_id FROM summaries ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("conv-2025-001", None, None),
        ("va-2025-001", "conv-2025-001", None),
        ("agent-2025-001", "conv-2025-001", "agent-maria-garcia-001"),
    ]


async def test_example_3_a_standalone_agent_summary_is_stored_top_level(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await post(http, json_example(CONVERSATIONS, "3. Standalone Agent"))

    assert response.status_code == 200
    assert response.json() == {
        "success": True, "inserted": 1, "conversations": [{"id": 1, "summaryId": "email-2025-001"}]
    }
    row = await db.fetchrow("SELECT summary_type, conversation_id, agent_id FROM summaries")
    assert tuple(row) == ("Agent", None, "agent-john-smith-002")
    listed = (await http.get("/api/conversations", headers=HEADERS)).json()["conversations"]
    assert [(c["summaryId"], c.get("conversationId")) for c in listed] == [("email-2025-001", None)]


async def test_the_documented_400_for_a_summary_that_needs_a_parent(http: httpx.AsyncClient,
                                                                   db: asyncpg.Connection) -> None:
    """A VirtualAgent always needs its Conversation: absent, null and "" are all the same."""
    agent = json_example(CONVERSATIONS, "3. Standalone Agent")["entities"][0]
    for parent in ({}, {"conversationId": None}, {"conversationId": ""}):
        response = await post(http, {"entities": [{**agent, "summaryType": "VirtualAgent", **parent}]})
        assert response.status_code == 400
        assert response.json() == json_example(CONVERSATIONS, "Error: Bad Request")
        assert response.json() == {"error": "Agent and VirtualAgent summaryTypes require a conversationId"}
    assert await db.fetchval("SELECT count(*) FROM summaries") == 0


async def test_documented_success_response_shape(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    documented = json_example(CONVERSATIONS, "Success (200 OK)")
    parent = json_example(CONVERSATIONS, "1. Parent Conversation")["entities"][0]
    child = json_example(CONVERSATIONS, "2. Child Summaries")["entities"][0]

    response = await post(http, {"entities": [parent, child]})

    body = response.json()
    assert set(body) == set(documented)
    assert body["inserted"] == documented["inserted"] == 2
    assert [c["summaryId"] for c in body["conversations"]] == [c["summaryId"] for c in documented["conversations"]]
    assert all(isinstance(c["id"], int) for c in body["conversations"])


async def test_documented_unauthorized_response(http: httpx.AsyncClient) -> None:
    body = json_example(CONVERSATIONS, "1. Parent Conversation")

    missing = await http.post("/api/conversations", json=body)
    wrong = await http.post("/api/conversations", json=body, headers={"x-api-key": "not-a-key"})

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        assert response.json() == json_example(CONVERSATIONS, "Error: Unauthorized") == {"error": "Unauthorized"}


async def test_documented_no_entities_error(http: httpx.AsyncClient) -> None:
    documented = json_examples(CONVERSATIONS, "Error: Bad Request")[1]
    assert documented == {"error": "No entities provided"}
    bodies: list[dict[str, Any]] = [{"entities": []}, {}, {"entities": None}]
    for body in bodies:
        response = await post(http, body)
        assert response.status_code == 400
        assert response.json() == documented
    empty = await http.post("/api/conversations", content=b"", headers=HEADERS)
    assert (empty.status_code, empty.json()) == (400, documented)


async def test_curl_example_verbatim(gateway: Gateway, db: asyncpg.Connection) -> None:
    command = curl_example(CONVERSATIONS)
    command = command.replace("https://your-app.vercel.app", f"http://127.0.0.1:{gateway.port}")
    command = command.replace("YOUR_API_KEY", API_KEY)
    command = command.replace("curl ", "curl -s -w '\\n%{http_code}' ", 1)

    # Async: the ingest server answering this runs on the test's event loop.
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", command, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()

    body, status = out.decode().rsplit("\n", 1)
    assert status == "200"
    assert json.loads(body) == {
        "success": True, "inserted": 1, "conversations": [{"id": 1, "summaryId": "conv-2025-001"}]
    }
    assert await db.fetchval("SELECT summary FROM summaries") == "Resumen completo de la conversación..."
