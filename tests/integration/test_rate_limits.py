"""Each key has a rate: beyond it, 429 with Retry-After over REST, RESOURCE_EXHAUSTED over gRPC."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import httpx
import pytest

from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from services.stack.settings import StackSettings
from services.stack.stack import Stack
from tests.conftest import API_KEY, OTHER_KEY, ingest_overrides, scratch_dir


@pytest.fixture(scope="module")
async def limited(database: str) -> AsyncIterator[Stack]:
    settings = StackSettings(data_dir=scratch_dir("parley-limits-"), database_url=database,
                             gateway_port=0, gateway_admin_port=0)
    overrides = {"ingest": ingest_overrides(key_rate_per_second=0.5, key_rate_burst=3)}
    stack = Stack(settings, overrides=overrides, services=("ingest",), in_process=True)
    await stack.start()
    yield stack
    await stack.stop()


async def test_a_key_over_its_rate_gets_429_with_retry_after(limited: Stack) -> None:
    assert limited.gateway is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{limited.gateway.port}") as http:
        replies = [await http.get("/api/conversations", headers={"x-api-key": API_KEY}) for _ in range(5)]
        other = await http.get("/api/conversations", headers={"x-api-key": OTHER_KEY})

    assert [r.status_code for r in replies] == [200, 200, 200, 429, 429]
    for reply in replies[3:]:
        assert int(reply.headers["retry-after"]) >= 1
        assert reply.json()["error"].startswith("Rate limit of key 'bootstrap-ingest-1' exceeded; retry after")
        assert API_KEY not in reply.text
    assert other.status_code == 200  # a bucket per key


async def test_over_grpc_it_is_resource_exhausted(limited: Stack) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{limited.port('ingest')}") as channel:
        stub = pb_grpc.ConversationServiceStub(channel)
        codes = []
        for _ in range(5):
            try:
                await stub.ListConversations(pb.ListConversationsRequest(), metadata=(("x-api-key", OTHER_KEY),))
                codes.append(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code())
    assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED
