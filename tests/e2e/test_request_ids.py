"""One request id, made by the gateway: returned on every response, in the gateway's access
log with the client's method and the service's status, and on every service log line."""

from __future__ import annotations

import asyncio
import logging
import re

import asyncpg
import httpx
import pytest

from services.common.logs import install_key_field
from services.stack.stack import Stack
from testkit.fakes.ollama import FakeOllama
from tests.conftest import API_KEY, TOKEN

HEADERS = {"x-api-key": API_KEY}


async def test_every_response_carries_a_fresh_request_id(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    replies = [
        await http.get("/api/conversations", headers=HEADERS),
        await http.get("/api/conversations/none-such", headers=HEADERS),  # the service's 404
        await http.get("/no/such/path"),  # the gateway's own 404
        await http.post("/api/conversations", content=b"not json", headers=HEADERS),  # the transcoder's 400
        await http.get("/api/conversations", headers={**HEADERS, "x-request-id": "chosen-by-client"}),
    ]
    ids = [r.headers.get("x-request-id", "") for r in replies]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids), ids
    assert len(set(ids)) == len(ids)  # the client's own id is replaced at this edge


async def test_the_access_log_names_the_request_method_and_statuses(
    http: httpx.AsyncClient, db: asyncpg.Connection, stack: Stack
) -> None:
    reply = await http.get("/api/conversations/none-such", headers=HEADERS)
    request_id = reply.headers["x-request-id"]
    log = stack.logs / "gateway.log"
    line = ""
    for _ in range(50):  # Envoy writes its access log asynchronously
        line = next((x for x in log.read_text().splitlines() if request_id in x), "")
        if line:
            break
        await asyncio.sleep(0.1)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z gateway ", line), line
    assert "method=GET path=/api/conversations/none-such status=404 grpc=NotFound" in line, line
    assert API_KEY not in log.read_text()


async def test_service_log_lines_carry_the_request_id(
    http: httpx.AsyncClient, db: asyncpg.Connection, ollama: FakeOllama, caplog: pytest.LogCaptureFixture
) -> None:
    install_key_field()
    caplog.set_level(logging.INFO)
    missing = await http.get("/api/conversations/none-such", headers=HEADERS)
    ollama.reset("invalid", "valid")
    generated = await http.post("/api/v1/synthetic-data", headers={"authorization": f"Bearer {TOKEN}"},
                                json={"payload": {"prompt": "a customer", "count": 1, "schema": {
                                    "type": "object", "properties": {"name": {"type": "string"}},
                                    "required": ["name"]}}})
    assert generated.status_code == 200, generated.text

    rpc = [r for r in caplog.records if r.name == "parley.rpc" and "GetConversation" in r.getMessage()]
    rejected = [r for r in caplog.records if "attempt 1 rejected" in r.getMessage()]
    assert rpc and {getattr(r, "request", None) for r in rpc} == {missing.headers["x-request-id"]}
    assert rejected and {getattr(r, "request", None) for r in rejected} == {generated.headers["x-request-id"]}
