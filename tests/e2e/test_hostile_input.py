"""Hostile input through the real gateway: every reply is a 4xx {"error": "<what is wrong>"}, never a 5xx."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.envoy import Gateway
from tests.conftest import API_KEY, TOKEN
from tests.factories import batch, conversation

HEADERS = {"x-api-key": API_KEY}
INTERNAL = ("TYPE_", "type.googleapis.com", "parley.", "google.protobuf", "Traceback", "asyncpg", "DecodeError")


def assert_client_error(response: httpx.Response, status: int, contains: str = "") -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str) and message.strip(), response.text
    assert not [word for word in INTERNAL if word in message], message
    assert contains in message, message
    return message


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("agentId", "a\u0000b", "entities[0].agentId must not contain the NUL character"),
    ("summary", "\u0000", "entities[0].summary must not contain the NUL character"),
    ("dateCreated", "9999-12-31T23:59:59-14:00", "entities[0].dateCreated must be from 1900"),
    ("dateCreated", "0001-01-01T00:00:00Z", "entities[0].dateCreated must be from 1900"),
    ("dateCreated", "9999-12-31T23:59:59.999999Z", "entities[0].dateCreated must be from 1900"),
    ("summaryId", "a/b", "entities[0].summaryId must be 1-255 printable characters"),
    ("summaryId", "..", "entities[0].summaryId must be 1-255 printable characters"),
    ("summaryId", "a\\b", "entities[0].summaryId must be 1-255 printable characters"),
    ("summaryId", " ", "entities[0].summaryId must be 1-255 printable characters"),
    ("summaryId", "\t", "entities[0].summaryId must be 1-255 printable characters"),
    ("sourceId", " padded ", "entities[0].sourceId must be 1-255 printable characters"),
    ("language", "es\n", "entities[0].language must be a language tag"),
])
async def test_bad_values_in_a_body(http: httpx.AsyncClient, db: asyncpg.Connection, field: str, value: str,
                                    expected: str) -> None:
    response = await http.post("/api/conversations", json=batch(conversation("c-1", **{field: value})),
                               headers=HEADERS)
    assert_client_error(response, 400, expected)
    assert await db.fetchval("SELECT count(*) FROM summaries") == 0


@pytest.mark.parametrize(("params", "expected"), [
    ({"conversationId": "a\u0000b"}, "conversationId must not contain the NUL character"),
    ({"dateCreatedFrom": "9999-12-31T23:59:59-14:00"}, "dateCreatedFrom must be from 1900"),
    ({"dateCreatedTo": "0001-01-01T00:00:00Z"}, "dateCreatedTo must be from 1900"),
    ({"agentId": "a" * 256}, "agentId must be at most 255 characters"),
    ({"pageSize": "501"}, "pageSize must be at most 500"),
    ({"query": "refund"}, "Unknown query parameter 'query'"),
    ({"q": "x" * 501}, "q must be at most 500 characters"),
    ({"q": "a\u0000"}, "q must not contain the NUL character"),
    ({"orderBy": "size", "q": "x"}, "orderBy must be relevance"),
    ({"insightType": "Mood"}, "insightType must be one of Reason, Resolution, ActionItem"),
])
async def test_bad_values_in_a_query(http: httpx.AsyncClient, params: dict[str, str], expected: str) -> None:
    assert_client_error(await http.get("/api/conversations", params=params, headers=HEADERS), 400, expected)


async def test_a_nul_in_a_path_is_a_400(http: httpx.AsyncClient) -> None:
    assert_client_error(await http.get("/api/conversations/a%00b", headers=HEADERS), 400, "Malformed request")


async def test_stored_infinity_is_refused_by_the_database_too(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO summaries (summary_id, summary_type, media_type, language, source_id, summary, generated,"
            " date_created, content_hash) VALUES ('x', 'Conversation', 'Call', 'en', 's', 's', true,"
            " '-infinity', '\\x00')")


async def test_page_tokens_cannot_be_forged(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    for i in range(3):
        await http.post("/api/conversations", json=batch(conversation(f"c-{i}")), headers=HEADERS)
    token = (await http.get("/api/conversations", params={"pageSize": 1}, headers=HEADERS)).json()["nextPageToken"]
    payload, _, mac = token.partition(".")
    import base64

    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for edit in ({"i": 10**25}, {"i": "1e999"}, {"d": "x"}, {"i": 1}):
        forged = base64.urlsafe_b64encode(json.dumps({**fields, **edit}).encode()).decode().rstrip("=")
        response = await http.get("/api/conversations", params={"pageToken": f"{forged}.{mac}"}, headers=HEADERS)
        assert_client_error(response, 400, "pageToken is not a token this service issued")
    assert (await http.get("/api/conversations", params={"pageToken": token}, headers=HEADERS)).status_code == 200


@pytest.mark.parametrize("depth", [49, 60, 99, 120])
async def test_deep_values_are_a_400(http: httpx.AsyncClient, depth: int) -> None:
    # Deep enough for protobuf's own limit (each JSON level is two messages: 49 and 60
    # reach the service), or for the transcoder's (99 and 120 stop at the gateway).
    deep_insights = await http.post("/api/conversations", headers=HEADERS,
                                    json=batch(conversation(insights=[nested(depth)])))
    deep_schema = await http.post("/api/v1/synthetic-data", headers={"authorization": f"Bearer {TOKEN}"},
                                  json={"payload": {"prompt": "p", "schema": nested(depth)}})
    for response in (deep_insights, deep_schema):
        assert_client_error(response, 400)


# Deeper still, the transcoder's own JSON parser may answer its 400 before the credential
# check (asked on headers, answered a moment later) does: a 4xx either way.
@pytest.mark.parametrize("depth", [49, 60])
async def test_an_undecodable_request_without_credentials_is_refused_unparsed(
    http: httpx.AsyncClient, depth: int
) -> None:
    anonymous = await http.post("/api/conversations", json=batch(conversation(insights=[nested(depth)])))
    assert (anonymous.status_code, anonymous.json()) == (401, {"error": "Unauthorized"})


async def test_invalid_utf8_in_a_path_is_a_400(http: httpx.AsyncClient) -> None:
    overlong = await http.get("/api/conversations/%c0%ae%c0%ae", headers=HEADERS)
    assert_client_error(overlong, 400, "The request could not be decoded")


@pytest.mark.parametrize("deadline", ["bogus", "1n", "1H"])
async def test_rest_clients_cannot_set_grpc_deadlines(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                      deadline: str) -> None:
    response = await http.post("/api/conversations", json=batch(conversation("c-1")),
                               headers={**HEADERS, "grpc-timeout": deadline})
    assert response.status_code == 200, response.text
    assert await db.fetchval("SELECT count(*) FROM summaries") == 1


async def test_long_urls_are_a_414_every_time(http: httpx.AsyncClient) -> None:
    for size in (8_300, 9_000, 12_000, 16_000, 30_000):
        response = await http.get("/api/conversations", params={"agentId": "a" * size}, headers=HEADERS)
        message = assert_client_error(response, 414, "Request URL and headers too large")
        assert "x-api-key" not in message


async def test_rest_on_a_grpc_path_is_a_415(http: httpx.AsyncClient) -> None:
    response = await http.post("/parley.ingest.v1.ConversationService/CreateConversations",
                               json=batch(conversation()), headers=HEADERS)
    assert_client_error(response, 415, "native gRPC")


async def test_odd_urls_and_upgrades_name_the_problem(http: httpx.AsyncClient, gateway: Gateway) -> None:
    encoded_slash = await http.get("/api/conversations/a%2Fb", headers=HEADERS)
    upgrade = await http.get("/api/conversations", headers={**HEADERS, "connection": "Upgrade",
                                                            "upgrade": "websocket"})
    raw = [await asyncio.to_thread(_raw_request, gateway.port, request) for request in (
        b"GET /api/conversations HTTP/1.1\r\n\r\n", b"GET /api/conversations#x HTTP/1.1\r\nHost: a\r\n\r\n")]

    assert_client_error(encoded_slash, 404, "'a/b' not found")
    assert_client_error(upgrade, 403, "Upgrade requests")
    for status, body in raw:
        assert status == 400
        assert json.loads(body)["error"].startswith("Malformed request")


def _raw_request(port: int, request: bytes) -> tuple[int, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split(" ")[1]), body


@pytest.mark.parametrize("body", ['{"entities": "x"}', '{"entities": [{"generated": "maybe"}]}', "[1]",
                                  '{"entities":[{"summaryType": 5}]}', "not json"])
async def test_transcoder_errors_name_fields_not_proto_types(http: httpx.AsyncClient, body: str) -> None:
    response = await http.post("/api/conversations", content=body,
                               headers={**HEADERS, "content-type": "application/json"})
    assert_client_error(response, 400)
