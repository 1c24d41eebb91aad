"""When PostgreSQL or a service goes away, clients get 503 JSON, and service resumes by itself."""

from __future__ import annotations

import asyncio

import httpx

from gateway.envoy import Gateway
from services.common.localpg import LocalPostgres
from services.ingest.__main__ import start as start_ingest
from tests.conftest import API_KEY, free_port, ingest_settings, scratch_dir
from tests.factories import batch, conversation

HEADERS = {"x-api-key": API_KEY}


async def test_database_outage_is_503_and_recovers_without_restart() -> None:
    pg = LocalPostgres(scratch_dir("parley-pg-outage-") / "data", free_port())
    pg.start()
    server, storage, port = await start_ingest(ingest_settings(pg.dsn))
    gateway = Gateway(scratch_dir("parley-gw-outage-"), ingest_port=port, synth_port=free_port())
    gateway.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}", headers=HEADERS) as http:
            before = await http.post("/api/conversations", json=batch(conversation("c-1")))
            await asyncio.to_thread(pg.stop)

            during = [await http.post("/api/conversations", json=batch(conversation("c-2"))) for _ in range(3)]
            listing = await http.get("/api/conversations")

            await asyncio.to_thread(pg.start)
            after = await http.post("/api/conversations", json=batch(conversation("c-2")))
            got = await http.get("/api/conversations/c-1")

        assert before.status_code == 200
        for response in [*during, listing]:
            assert (response.status_code, response.json()) == (503, {"error": "Database unavailable"})
        assert (after.status_code, after.json()["inserted"]) == (200, 1)
        assert got.status_code == 200
    finally:
        gateway.stop()
        await server.stop(0)
        await storage.close()
        pg.stop()


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
