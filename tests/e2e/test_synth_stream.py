"""POST /api/v1/synthetic-data:stream through the gateway: records as they come, errors in-band."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema

from gateway.envoy import Gateway
from testkit.fakes.ollama import FakeOllama
from tests.conftest import CALL_TIMEOUT, TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}
SCHEMA = {"type": "array", "items": {"type": "object", "properties": {"customer_name": {"type": "string"},
          "issue_category": {"type": "string", "enum": ["billing", "shipping"]}},
          "required": ["customer_name", "issue_category"]}}


async def stream(http: httpx.AsyncClient, body: dict[str, Any]) -> tuple[httpx.Response, list[dict[str, Any]]]:
    events = []
    async with http.stream("POST", "/api/v1/synthetic-data:stream", json=body, headers=AUTH) as response:
        async for line in response.aiter_lines():
            if line.strip():
                events.append(json.loads(line))
    return response, events


async def test_records_stream_then_a_summary(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    response, events = await stream(http, {"payload": {"prompt": "support tickets", "count": 12, "schema": SCHEMA}})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    records = [e["record"] for e in events[:-1]]
    assert len(records) == 12
    assert [r["produced"] for r in records] == list(range(1, 13))
    assert sorted(r["index"] for r in records) == list(range(12))
    for record in records:
        jsonschema.validate(record["data"], SCHEMA["items"])
        assert record["requested"] == 12
    done = events[-1]["done"]
    # A two-field schema draws from few combinations: the fake may repeat itself, and
    # each repeat is refused and asked again, so only this sum is fixed.
    failed = done["metadata"].pop("failed_attempts")
    assert failed == len(ollama.calls) - 12
    assert sum(done["metadata"].pop("failures").values()) == failed
    diversity = done["metadata"].pop("diversity")
    assert set(diversity["distinct_values"]) == {"issue_category"}  # its one enum field
    assert done["metadata"] == {"count": 12, "validation_passed": True, "requested": 12, "schema_draft": "2020-12"}
    assert len({json.dumps(r["data"], sort_keys=True) for r in records}) == 12
    assert done["usage"]["total_tokens"] == done["usage"]["input_tokens"] + done["usage"]["output_tokens"] > 0
    assert (done["provider"], done["model"]) == ("ollama", "gemma3:4b")


async def test_error_after_the_first_record_travels_in_band(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    ollama.reset("valid", "slow", "slow", "slow")

    response, events = await stream(http, {"payload": {"prompt": "support tickets", "count": 4, "schema": SCHEMA}})

    assert response.status_code == 200
    assert "record" in events[0]
    assert events[-1] == {"error": {"status": 504, "message":
                                    f"Ollama at {ollama.url} did not answer within {CALL_TIMEOUT:g}s"}}
    assert not any("done" in e for e in events)


async def test_error_before_any_record_is_a_plain_json_error(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    ollama.reset("error500")
    bad = await http.post("/api/v1/synthetic-data:stream", json={"payload": {"prompt": ""}}, headers=AUTH)
    failing = await http.post("/api/v1/synthetic-data:stream", json={"payload": {"prompt": "x"}}, headers=AUTH)

    assert (bad.status_code, bad.json()) == (400, {"error": "payload.prompt is required"})
    assert failing.status_code == 503
    assert failing.headers["content-type"] == "application/json"
    assert failing.json()["error"].startswith(f"Ollama at {ollama.url} failed")


async def test_stream_allows_more_than_the_unary_limit(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    unary = await http.post("/api/v1/synthetic-data", json={"payload": {"prompt": "x", "count": 150}}, headers=AUTH)
    response, events = await stream(http, {"payload": {"prompt": "x", "count": 150}})
    too_many = await http.post("/api/v1/synthetic-data:stream", json={"payload": {"prompt": "x", "count": 10001}},
                               headers=AUTH)

    assert unary.status_code == 400
    assert response.status_code == 200
    assert events[-1]["done"]["metadata"]["count"] == 150
    assert too_many.json() == {"error": "payload.count must be between 1 and 10000"}


def _stalled_reader(port: int, body: bytes, seen: Callable[[], int]) -> tuple[int, int, int]:
    """Asks for a long stream, reads its first bytes, then stops reading: how far does generation run?"""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)  # a small, slow client
        s.connect(("127.0.0.1", port))
        s.sendall(b"POST /api/v1/synthetic-data:stream HTTP/1.1\r\nHost: parley\r\ncontent-type: application/json\r\n"
                  + f"authorization: Bearer {TOKEN}\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body)
        assert s.recv(1024).startswith(b"HTTP/1.1 200")
        # Generation fills the buffers between here and synth, then waits; on a slow machine
        # filling them takes longer, so wait (up to 20 s) for the count to stop moving.
        settled, deadline = seen(), time.monotonic() + 20
        while time.monotonic() < deadline:
            time.sleep(1)
            if seen() == settled:
                break
            settled = seen()
        time.sleep(1)
        later = seen()
        return settled, later, len(body)


# Records of 20 kB, so that what the kernel's socket buffers hold (a few MB) is a few hundred.
LARGE = {"type": "object", "properties": {"transcript": {"type": "string", "minLength": 20_000}},
         "required": ["transcript"]}


async def test_generation_waits_for_a_slow_reader(gateway: Gateway, ollama: FakeOllama) -> None:
    body = json.dumps({"payload": {"prompt": "support calls", "count": 10_000, "schema": LARGE}}).encode()
    settled, later, _ = await asyncio.to_thread(_stalled_reader, gateway.port, body, lambda: len(ollama.calls))
    await asyncio.sleep(0.5)  # the closed connection reaches synth, which stops
    stopped = len(ollama.calls)
    await asyncio.sleep(0.5)

    assert settled == later  # generation stopped while the client was not reading
    assert later < 1_000  # a small window ahead (the gateway's and gRPC's buffers), not the whole request
    assert len(ollama.calls) == stopped  # and it ends when the client goes away
