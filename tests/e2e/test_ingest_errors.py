"""Every documented error, from the service or from Envoy, is JSON with the right status."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import API_KEY
from tests.factories import batch, child, conversation

HEADERS = {"x-api-key": API_KEY}


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    if message is not None:
        assert body["error"] == message


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mediaType", "Fax", "entities[1].mediaType must be one of Call, Email, Message, Unknown"),
        ("summaryType", "Bot", "entities[1].summaryType must be one of Conversation, Agent, VirtualAgent"),
        ("language", "english!", "entities[1].language must be a language tag such as es, en or pt-BR"),
        ("dateCreated", "2025-12-23 15:30", "entities[1].dateCreated must be an ISO 8601 timestamp with a zone, "
         "e.g. 2025-12-23T15:30:00.000Z"),
        ("dateCreated", "2025-12-23T15:30:00", "entities[1].dateCreated must be an ISO 8601 timestamp with a zone, "
         "e.g. 2025-12-23T15:30:00.000Z"),
        ("summaryId", "", "entities[1].summaryId is required"),
        ("summaryId", "x" * 256, "entities[1].summaryId must be at most 255 characters"),
        ("sourceId", None, "entities[1].sourceId is required"),
        ("summary", None, "entities[1].summary is required"),
        ("generated", None, "entities[1].generated is required"),
        ("insights", [{"type": "Mood", "title": "t", "description": "d"}],
         "entities[1].insights[0].type must be one of Reason, Resolution, ActionItem"),
        ("insights", [{"type": "Reason", "title": "t"}], "entities[1].insights[0].description is required"),
        ("insights", {"type": "Reason"}, "entities[1].insights must be an array of insight objects "
         "or that array as a JSON string"),
        ("insights", "not json", "entities[1].insights must be an array of insight objects "
         "or that array as a JSON string"),
    ],
)
async def test_validation_errors_name_entity_and_field(
    http: httpx.AsyncClient, field: str, value: object, message: str
) -> None:
    bad = conversation("conv-2")
    if value is None:
        del bad[field]
    else:
        bad[field] = value

    response = await http.post("/api/conversations", json=batch(conversation("conv-1"), bad), headers=HEADERS)

    assert_error(response, 400, message)


async def test_a_virtual_agent_without_conversation_id_has_the_documented_message(http: httpx.AsyncClient) -> None:
    for parent in ("", None):
        orphan = child("va-1", parent=parent, summary_type="VirtualAgent")
        response = await http.post("/api/conversations", json=batch(orphan), headers=HEADERS)
        assert_error(response, 400, "Agent and VirtualAgent summaryTypes require a conversationId")


async def test_malformed_json_is_a_json_400(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/conversations", content=b'{"entities": [', headers=HEADERS)
    assert_error(response, 400)


async def test_wrong_json_type_is_a_json_400(http: httpx.AsyncClient) -> None:
    body = batch(conversation(generated="maybe"))
    response = await http.post("/api/conversations", json=body, headers=HEADERS)
    assert_error(response, 400)
    assert "generated" in response.json()["error"]


async def test_unknown_path_is_a_json_404(http: httpx.AsyncClient) -> None:
    for path in ("/nope", "/api/conversation", "/api/conversations/a/b"):
        assert_error(await http.get(path, headers=HEADERS), 404, "Not found")


async def test_unknown_summary_is_a_json_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/conversations/does-not-exist", headers=HEADERS)
    assert_error(response, 404, "Conversation summary 'does-not-exist' not found")


async def test_wrong_method_on_a_known_path_is_a_json_405(http: httpx.AsyncClient) -> None:
    collection = await http.put("/api/conversations", headers=HEADERS)
    item = await http.post("/api/conversations/conv-1", headers=HEADERS)

    assert_error(collection, 405)
    assert collection.headers["allow"] == "GET, POST"
    assert_error(item, 405)
    assert item.headers["allow"] == "GET, DELETE"


async def test_body_over_one_mebibyte_is_a_json_413(http: httpx.AsyncClient) -> None:
    body = batch(conversation(summary="x" * (1024 * 1024)))
    response = await http.post("/api/conversations", json=body, headers=HEADERS)
    assert_error(response, 413, "Request body too large (at most 1048576 bytes)")


async def test_more_than_500_entities_is_a_json_413(http: httpx.AsyncClient) -> None:
    body = batch(*(conversation(f"c-{i}") for i in range(501)))
    response = await http.post("/api/conversations", json=body, headers=HEADERS)
    assert_error(response, 413, "Too many entities: 501 (at most 500 per request)")


async def test_every_route_authenticates(http: httpx.AsyncClient) -> None:
    calls = [
        http.get("/api/conversations"),
        http.get("/api/conversations/conv-1"),
        http.delete("/api/conversations/conv-1"),
        http.post("/api/conversations", json=batch(conversation())),
    ]
    for call in calls:
        assert_error(await call, 401, "Unauthorized")


async def test_errors_never_echo_the_api_key(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/conversations", json={}, headers={"x-api-key": "secret-guess-123"})
    assert "secret-guess-123" not in response.text
