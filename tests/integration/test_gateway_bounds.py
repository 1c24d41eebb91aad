"""Slow and numerous clients meet the gateway's bounds, and a normal request still answers."""

from __future__ import annotations

import asyncio
import select
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from services.stack.settings import StackSettings
from services.stack.stack import Stack
from tests.conftest import API_KEY, ingest_overrides, scratch_dir

MAX_CONNECTIONS = 8
SOURCE_BURST = 4
LARGE_BODIES = 2


@pytest.fixture(scope="module")
async def bounded(database: str) -> AsyncIterator[Stack]:
    settings = StackSettings(data_dir=scratch_dir("parley-bounds-"), database_url=database, gateway_port=0,
                             gateway_admin_port=0, gateway_headers_timeout_seconds=1,
                             gateway_max_connections=MAX_CONNECTIONS,
                             gateway_source_rate_per_second=SOURCE_BURST, gateway_source_burst=SOURCE_BURST,
                             gateway_large_body_rate_per_second=LARGE_BODIES)
    stack = Stack(settings, overrides={"ingest": ingest_overrides()}, services=("ingest",), in_process=True)
    await stack.start()
    yield stack
    await stack.stop()


def _closed_by_peer(sockets: list[socket.socket], wait: float) -> list[socket.socket]:
    """The sockets the gateway closes within `wait` seconds."""
    closed: list[socket.socket] = []
    open_ = list(sockets)
    deadline = time.monotonic() + wait
    while open_ and (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select(open_, [], [], left)
        for s in readable:
            try:
                gone = s.recv(1) == b""
            except ConnectionResetError:
                gone = True
            if gone:
                closed.append(s)
                open_.remove(s)
    return closed


def _dribble(port: int) -> bytes:
    """Sends half a request's headers, then waits for whatever the gateway does about it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /api/conversations HTTP/1.1\r\nHost: a\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        return data


async def test_headers_that_never_finish_are_cut_off(bounded: Stack) -> None:
    assert bounded.gateway is not None
    replies = await asyncio.gather(*(asyncio.to_thread(_dribble, bounded.gateway.port) for _ in range(4)))
    for reply in replies:  # closed by the gateway, with a 408 in Parley's shape or no reply at all
        assert reply == b"" or reply.startswith(b"HTTP/1.1 408"), reply


async def test_connections_beyond_the_limit_are_refused_and_service_goes_on(bounded: Stack) -> None:
    assert bounded.gateway is not None
    port = bounded.gateway.port
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(MAX_CONNECTIONS * 2)]
    try:
        closed = await asyncio.to_thread(_closed_by_peer, held, 1.0)
        # Those over the limit are closed at once; those within it stay open, waiting for a request.
        assert len(closed) >= MAX_CONNECTIONS - 1
        assert len(closed) < len(held)
    finally:
        for s in held:
            s.close()
    await asyncio.sleep(0.2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        response = await http.get("/api/conversations", headers={"x-api-key": API_KEY})
    assert response.status_code == 200


async def test_a_flood_from_one_address_is_slowed_at_the_gateway(bounded: Stack) -> None:
    assert bounded.gateway is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bounded.gateway.port}") as http:
        await asyncio.sleep(1.5)  # the other tests' requests have been paid back
        wrong = [await http.get("/api/conversations", headers={"x-api-key": f"wrong-{i}"})
                 for i in range(SOURCE_BURST + 3)]
    statuses = [r.status_code for r in wrong]
    assert statuses[-3:] == [429, 429, 429] and set(statuses[:-3]) <= {401, 429}, statuses
    for reply in wrong[-3:]:
        assert reply.json() == {"error": "Too many requests (from this address, or with large bodies); retry shortly"}
        assert reply.headers["retry-after"] == "1"


def _declare_large_body(port: int) -> bytes:
    """Declares a 300 kB body with a valid key and sends none of it: what comes back at once?"""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(f"POST /api/conversations HTTP/1.1\r\nHost: parley\r\nx-api-key: {API_KEY}\r\n"
                  "content-type: application/json\r\ncontent-length: 300000\r\n\r\n".encode())
        s.settimeout(1)
        try:
            return s.recv(4096)
        except TimeoutError:
            return b""  # admitted: the gateway waits for the body


async def test_large_bodies_beyond_their_rate_are_refused_before_they_are_read(bounded: Stack) -> None:
    assert bounded.gateway is not None
    await asyncio.sleep(1.5)  # the per-source bucket is full again
    replies = await asyncio.gather(*(asyncio.to_thread(_declare_large_body, bounded.gateway.port)
                                     for _ in range(LARGE_BODIES + 3)))
    refused = [r for r in replies if r.startswith(b"HTTP/1.1 429")]
    assert len(refused) >= 3 and len(replies) - len(refused) <= LARGE_BODIES, replies
