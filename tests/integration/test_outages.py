"""When PostgreSQL or a service goes away, clients get 503 JSON, and service resumes by itself."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from gateway.envoy import Gateway
from services.stack.settings import StackSettings
from services.stack.stack import Stack, free_port
from testkit.proxy import TcpProxy
from tests.conftest import API_KEY, ingest_overrides, scratch_dir
from tests.factories import batch, conversation

HEADERS = {"x-api-key": API_KEY}


async def test_database_outage_is_503_and_recovers_without_restart(database: str) -> None:
    # The session's PostgreSQL behind a proxy that can cut it off.
    target = urlsplit(database)
    assert target.hostname and target.port
    proxy = await TcpProxy(target.hostname, target.port).start()
    settings = StackSettings(data_dir=scratch_dir("parley-outage-"), gateway_port=0, gateway_admin_port=0,
                             database_url=database.replace(f":{target.port}/", f":{proxy.port}/"))
    stack = Stack(settings, overrides={"ingest": ingest_overrides()}, services=("ingest",), in_process=True)
    await stack.start()
    assert stack.gateway is not None
    try:
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
    finally:
        await stack.stop()
        await proxy.cut()


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
