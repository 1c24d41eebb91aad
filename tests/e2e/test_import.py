"""POST /api/conversations:import (NDJSON, streamed) and its native gRPC form, through the
gateway: every line stored as a batch would store it, in transactions of 4 lines here
(tests/conftest.py), and the first bad line named with what was stored before it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
from google.api import httpbody_pb2

from gateway.envoy import Gateway
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from tests.conftest import API_KEY
from tests.e2e.test_cli_generate import parley
from tests.factories import child, conversation

HEADERS = {"x-api-key": API_KEY, "content-type": "application/x-ndjson"}


def ndjson(entities: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in entities)


def family(n: int) -> list[dict[str, Any]]:
    """A Conversation with a Genesys id and an insight, and an Agent child linked by that id with
    its insight as Genesys sends it (a stringified array): two lines."""
    reason = [{"type": "Reason", "title": "Roaming", "description": f"Abroad {n}"}]
    return [conversation(f"c-{n}", conversationId=f"g-{n}", dateCreated=f"2025-03-01T10:{n % 60:02}:00Z",
                         insights=reason),
            child(f"a-{n}", f"g-{n}", dateCreated=f"2025-03-01T11:{n % 60:02}:00Z", insights=json.dumps(reason))]


async def post(http: httpx.AsyncClient, body: bytes | AsyncIterator[bytes]) -> httpx.Response:
    return await http.post("/api/conversations:import", content=body, headers=HEADERS)


async def test_an_import_stores_every_line_as_a_batch_would(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    lines = [e for n in range(5) for e in family(n)]
    lines.append(child("a-0b", "c-0", "VirtualAgent", agentId=""))  # linked by summaryId to an earlier chunk
    body = ndjson(lines[:3]) + b"\n  \n" + ndjson(lines[3:])[:-1]  # blank lines; no final newline
    response = await post(http, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"lines": 11, "inserted": 11, "replayed": 0, "chunks": 3}
    parent = (await http.get("/api/conversations/c-0", headers=HEADERS)).json()["conversation"]
    assert parent["conversationId"] == "g-0"
    assert sorted(c["summaryId"] for c in parent["children"]) == ["a-0", "a-0b"]
    assert await db.fetchval("SELECT count(*) FROM summaries") == 11
    assert await db.fetchval("SELECT count(*) FROM insights") == 10
    child_one = (await http.get("/api/conversations/a-1", headers=HEADERS)).json()["conversation"]
    assert child_one["insights"] == [{"type": "Reason", "title": "Roaming", "description": "Abroad 1"}]
    assert child_one["conversationId"] == "g-1" and child_one["parentSummaryId"] == "c-1"
    # The same file again: everything replays, nothing is stored twice.
    again = await post(http, body)
    assert again.json() == {"lines": 11, "inserted": 0, "replayed": 11, "chunks": 3}
    assert await db.fetchval("SELECT count(*) FROM summaries") == 11


async def test_the_first_bad_line_stops_the_import_and_is_named(http: httpx.AsyncClient,
                                                                db: asyncpg.Connection) -> None:
    good = [conversation(f"c-{n}") for n in range(8)]
    bad = {k: v for k, v in conversation("c-bad").items() if k != "summaryType"}
    response = await post(http, ndjson([*good[:5], bad, *good[5:]]))
    assert response.status_code == 400
    assert response.json() == {"error": "Line 6: summaryType is required. Lines up to 4 were stored (4 summaries:"
                                        " 4 new, 0 already stored); none after"}
    assert sorted(await db.fetchval("SELECT array_agg(summary_id) FROM summaries")) == [f"c-{n}" for n in range(4)]


async def test_each_kind_of_bad_line_is_refused_naming_it(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    one = json.dumps(conversation("c-1")).encode() + b"\n"
    cases: dict[bytes, tuple[int, str]] = {
        b"{not json\n": (400, "Line 1 is not valid JSON (Expecting property name enclosed in double quotes)"),
        b"[1, 2]\n": (400, "Line 1 must be a JSON object (one entity a line)"),
        one + b"\xff\xfe{}\n": (400, "Line 2 is not valid UTF-8"),
        one + b'{"summaryID": "x"}\n': (400, "Line 2 has an unknown field 'summaryID'"),
        one + json.dumps(child("a-1", "nowhere")).encode(): (404, (
            "Line 2: conversationId 'nowhere' names no stored summary; send the parent Conversation first or"
            " earlier in the same batch")),
        one + json.dumps(child("a-1", "", "VirtualAgent")).encode(): (
            400, "Line 2: Agent and VirtualAgent summaryTypes require a conversationId"),
        one + json.dumps(conversation("c-1", summary="Other.")).encode(): (
            409, "Line 2: summaryId 'c-1' appears twice in the batch with different content (also line 1)"),
        one + json.dumps(conversation("c-2", insights='[{"type": "Mood"}]')).encode(): (
            400, "Line 2: insights[0].type must be one of Reason, Resolution, ActionItem"),
        b"\n\n": (400, "The import holds no entities: send one JSON object a line (NDJSON)"),
    }
    for body, (status, error) in cases.items():
        response = await post(http, body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"].startswith(error), (body, response.json())
    assert await db.fetchval("SELECT count(*) FROM summaries") == 0


async def test_a_conflict_in_a_later_chunk_names_its_line(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    first = [conversation(f"c-{n}") for n in range(4)]
    changed = conversation("c-1", summary="Something else entirely.")
    response = await post(http, ndjson([*first, conversation("c-9"), changed]))
    assert response.status_code == 409
    assert response.json() == {"error": "Line 6: summaryId 'c-1' is already stored with different content."
                                        " Lines up to 4 were stored (4 summaries: 4 new, 0 already stored);"
                                        " none after"}
    assert await db.fetchval("SELECT count(*) FROM summaries WHERE summary_id = 'c-9'") == 0


async def test_a_refused_chunk_is_the_error_even_when_a_later_line_is_bad(http: httpx.AsyncClient,
                                                                         db: asyncpg.Connection) -> None:
    """The first chunk is stored while the second is read: its refusal (line 2) is the error, not
    the bad line 6 read meanwhile, and nothing of either chunk is stored."""
    assert (await post(http, ndjson([conversation("c-1")]))).status_code == 200
    changed = conversation("c-1", summary="Something else entirely.")
    bad = {k: v for k, v in conversation("c-bad").items() if k != "summaryType"}
    lines = [conversation("c-0"), changed, *(conversation(f"c-{n}") for n in range(2, 5)), bad]
    response = await post(http, ndjson(lines))
    assert response.status_code == 409
    assert response.json() == {"error": "Line 2: summaryId 'c-1' is already stored with different content."
                                        " Nothing was stored"}
    assert await db.fetchval("SELECT array_agg(summary_id) FROM summaries") == ["c-1"]


async def test_a_long_import_streams_past_the_request_body_limit(http: httpx.AsyncClient,
                                                                db: asyncpg.Connection) -> None:
    """1.5 MB in a chunked body (the limit for other requests is 1 MiB), split mid-line."""
    padding = "x" * 1000
    data = ndjson(conversation(f"c-{n}", summary=f"Summary {n} {padding}") for n in range(1500))

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 65_537):
            yield data[start:start + 65_537]

    response = await post(http, pieces())
    assert response.status_code == 200, response.text
    assert response.json()["lines"] == 1500 and response.json()["inserted"] == 1500
    assert await db.fetchval("SELECT count(*) FROM summaries") == 1500


async def test_an_import_needs_a_key_with_the_write_scope(http: httpx.AsyncClient) -> None:
    body = ndjson([conversation("c-1")])
    anonymous = await http.post("/api/conversations:import", content=body)
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    assert (await http.get("/api/conversations:import", headers=HEADERS)).status_code == 405


async def test_native_grpc_streams_the_file_in_pieces(gateway_channel: grpc.aio.Channel,
                                                      db: asyncpg.Connection) -> None:
    data = ndjson([e for n in range(3) for e in family(n)])
    stub = pb_grpc.ConversationServiceStub(gateway_channel)

    async def pieces() -> AsyncIterator[httpbody_pb2.HttpBody]:
        for start in range(0, len(data), 50):  # every line split across messages
            yield httpbody_pb2.HttpBody(content_type="application/x-ndjson", data=data[start:start + 50])

    reply = await stub.ImportConversations(pieces(), metadata=(("x-api-key", API_KEY),))
    assert (reply.lines, reply.inserted, reply.chunks) == (6, 6, 2)
    assert await db.fetchval("SELECT count(*) FROM summaries WHERE conversation_id IS NOT NULL") == 3


async def test_the_import_command_streams_a_file(gateway: Gateway, db: asyncpg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "backfill.ndjson"
    path.write_bytes(ndjson([e for n in range(5) for e in family(n)]))
    code, out = await parley(gateway, "import", str(path))
    assert code == 0, out
    assert "imported 10 lines: 10 new, 0 already stored, in 3 transactions" in out
    path.write_bytes(ndjson([conversation("c-x"), {**conversation("c-y"), "summaryId": 1}]))
    code, out = await parley(gateway, "import", str(path))
    assert code == 1 and "error: Line 2: summaryId must be a string. Nothing was stored" in out, out


async def test_the_import_command_sends_a_large_file_in_parts(gateway: Gateway, db: asyncpg.Connection,
                                                              tmp_path: Path) -> None:
    """Each part is its own request, within the gateway's request timeout; line numbers stay the file's."""
    path = tmp_path / "parts.ndjson"
    lines = [conversation(f"c-{n}") for n in range(12)]
    path.write_bytes(ndjson(lines))
    size = len(ndjson(lines[:1]))
    code, out = await parley(gateway, "import", str(path), env={"PARLEY_IMPORT_PART_BYTES": str(size * 5)})
    assert code == 0 and "imported 12 lines: 12 new, 0 already stored, in 5 transactions" in out, out
    lines[11] = {**lines[11], "mediaType": "Fax"}
    path.write_bytes(ndjson(lines))
    code, out = await parley(gateway, "import", str(path), env={"PARLEY_IMPORT_PART_BYTES": str(size * 5)})
    assert code == 1, out
    assert ("error: Line 12: mediaType must be one of Call, Email, Message, Unknown. Nothing was stored"
            " (lines before 11 were stored: 10 summaries)") in out, out
