"""When PostgreSQL or a service goes away, clients get 503 JSON, and service resumes by itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.envoy import Gateway
from services.stack.settings import StackSettings
from services.stack.stack import Stack, free_port
from services.synth.__main__ import start as start_synth
from testkit.fakes.ollama import FakeOllama
from testkit.proxy import TcpProxy
from tests.conftest import API_KEY, ingest_overrides, scratch_dir, synth_settings
from tests.factories import batch, conversation

HEADERS = {"x-api-key": API_KEY}
SERVICE = "parley.ingest.v1.ConversationService"
SYNTH = "parley.synth.v1.SyntheticDataService"


@pytest.fixture
async def cut_off(database: str) -> AsyncIterator[tuple[Stack, TcpProxy]]:
    """Ingest and the gateway, on the session's PostgreSQL behind a proxy that can cut it off."""
    target = urlsplit(database)
    assert target.hostname and target.port
    proxy = await TcpProxy(target.hostname, target.port).start()
    settings = StackSettings(data_dir=scratch_dir("parley-outage-"), gateway_port=0, gateway_admin_port=0,
                             database_url=database.replace(f":{target.port}/", f":{proxy.port}/"))
    overrides = {"ingest": ingest_overrides(readiness_interval_seconds=0.1, query_timeout_seconds=1,
                                            pool_acquire_timeout_seconds=1)}
    stack = Stack(settings, overrides=overrides, services=("ingest",), in_process=True)
    await stack.start()
    yield stack, proxy
    await stack.stop()
    await proxy.cut()


async def test_database_outage_is_503_and_recovers_without_restart(cut_off: tuple[Stack, TcpProxy]) -> None:
    stack, proxy = cut_off
    assert stack.gateway is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.gateway.port}", headers=HEADERS) as http:
        before = await http.post("/api/conversations", json=batch(conversation("c-1")))
        await proxy.cut()

        during = [await http.post("/api/conversations", json=batch(conversation("c-2"))) for _ in range(3)]
        listing = await http.get("/api/conversations")

        await proxy.start()
        after = await http.post("/api/conversations", json=batch(conversation("c-2")))
        got = await http.get("/api/conversations/c-1")

    assert before.status_code == 200
    for response in [*during, listing]:
        assert (response.status_code, response.json()) == (503, {"error": "Database unavailable"})
    assert (after.status_code, after.json()["inserted"]) == (200, 1)
    assert got.status_code == 200


async def test_readiness_follows_the_database_and_liveness_does_not(cut_off: tuple[Stack, TcpProxy]) -> None:
    stack, proxy = cut_off
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.port('ingest')}") as channel:
        health = health_pb2_grpc.HealthStub(channel)

        async def status(service: str) -> int:
            return int((await health.Check(health_pb2.HealthCheckRequest(service=service))).status)

        async def becomes(expected: int) -> list[int]:
            for _ in range(100):  # up to 5 s
                if (now := await status(SERVICE)) == expected:
                    break
                await asyncio.sleep(0.05)
            return [now, await status("")]

        up, down = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
        before = await becomes(up)
        await proxy.cut()
        during = await becomes(down)
        await proxy.start()
        after = await becomes(up)
    assert (before, during, after) == ([up, up], [down, up], [up, up])


async def test_service_down_is_a_json_503() -> None:
    gateway = Gateway(scratch_dir("parley-gw-down-"), ingest_port=free_port(), synth_port=free_port())
    gateway.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}", headers=HEADERS) as http:
            response = await http.post("/api/conversations", json=batch(conversation()))
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"error": "Service unavailable"}
    finally:
        gateway.stop()


async def test_a_hanging_database_is_a_prompt_503_not_a_gateway_timeout(cut_off: tuple[Stack, TcpProxy]) -> None:
    stack, proxy = cut_off
    assert stack.gateway is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.gateway.port}", headers=HEADERS,
                                 timeout=60) as http:
        await proxy.stall()
        try:
            hung = await asyncio.gather(
                http.post("/api/conversations", json=batch(conversation("c-1"))), http.get("/api/conversations"))
        finally:
            proxy.resume()
        after = await http.get("/api/conversations")
    for response in hung:  # the query and pool timeouts answer, long before the gateway's 30 s
        assert (response.status_code, response.json()) == (503, {"error": "Database unavailable"})
    assert after.status_code == 200


async def test_synth_readiness_follows_its_model_server() -> None:
    fake = FakeOllama().start()
    running = await start_synth(synth_settings(fake.url, readiness_interval_seconds=0.1))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)

            async def status(service: str) -> int:
                return int((await health.Check(health_pb2.HealthCheckRequest(service=service))).status)

            before = await status(SYNTH)
            fake.stop()
            for _ in range(100):
                if await status(SYNTH) == health_pb2.HealthCheckResponse.NOT_SERVING:
                    break
                await asyncio.sleep(0.05)
            during = [await status(SYNTH), await status("")]
    finally:
        await running.stop(0)
    up, down = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    assert (before, during) == (up, [down, up])
