"""`make run`'s launcher as a user starts it: up, answering, stopped cleanly by SIGTERM, data kept."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import httpx

from services.stack.stack import free_port
from tests.conftest import ROOT, scratch_dir


async def start_stack(env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.stack", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = ""
    while "Ctrl-C stops everything" not in output:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=90)
        assert line, f"launcher exited early:\n{output}"
        output += line.decode()
    return process, output


async def stop_stack(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    assert process.stdout is not None
    rest = await asyncio.wait_for(process.stdout.read(), timeout=60)
    assert await process.wait() == 0
    return rest.decode()


async def test_make_run_starts_serves_and_stops_cleanly() -> None:
    data = scratch_dir("parley-run-")
    port = free_port()
    env = {**os.environ, "PARLEY_DATA_DIR": str(data), "PARLEY_PG_PORT": str(free_port()),
           "GATEWAY_PORT": str(port), "GATEWAY_ADMIN_PORT": str(free_port()),
           "INGEST_LISTEN": f"127.0.0.1:{free_port()}", "SYNTH_LISTEN": f"127.0.0.1:{free_port()}",
           "INGEST_METRICS_LISTEN": "127.0.0.1:0", "SYNTH_METRICS_LISTEN": "127.0.0.1:0"}
    env.pop("INGEST_API_KEYS", None)

    process, banner = await start_stack(env)
    stored = json.loads((data / "dev-credentials.json").read_text())
    key, console = stored["ingest_api_key"], stored["console_key"]
    assert key in banner
    assert f"console:             http://127.0.0.1:{port}/ (sign in with {console})" in banner
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        page = await http.get("/")
        self_ = await http.get("/api/keys:self", headers={"x-api-key": console})
        models = await http.get("/api/v1/models", headers={"authorization": f"Bearer {console}"})
    assert page.status_code == 200 and "/assets/console.js" in page.text
    assert self_.json()["key"] == {"name": "console-dev", "scopes": [
        "conversations:delete", "conversations:read", "conversations:write", "synth:generate"],
        "createTime": "", "lastUsedTime": "", "expireTime": "", "revokeTime": ""}
    assert models.status_code == 200  # the same key is good for synth
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"x-api-key": key}) as http:
        created = await http.post("/api/conversations", json={"entities": [{
            "summaryType": "Conversation", "mediaType": "Call", "language": "en", "summaryId": "run-1",
            "sourceId": "s", "summary": "s", "generated": True, "dateCreated": "2025-12-23T15:30:00Z"}]})
    stopped = await stop_stack(process)

    assert created.status_code == 200
    assert "stopped" in stopped
    assert not (data / "postgres" / "postmaster.pid").exists()
    assert key not in (data / "logs" / "ingest.log").read_text()

    # A second run keeps the data and the keys.
    process, again = await start_stack(env)
    assert f"sign in with {console}" in again
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"x-api-key": key}) as http:
        kept = await http.get("/api/conversations/run-1")
    await stop_stack(process)
    assert kept.status_code == 200


async def test_make_run_starts_synth_and_says_where_ollama_is_expected(database: str) -> None:
    data = scratch_dir("parley-run-synth-")
    port = free_port()
    dead_ollama = f"http://127.0.0.1:{free_port()}"
    # With DATABASE_URL set, the launcher uses that server and starts no PostgreSQL of its own.
    env = {**os.environ, "PARLEY_DATA_DIR": str(data), "DATABASE_URL": database,
           "GATEWAY_PORT": str(port), "GATEWAY_ADMIN_PORT": str(free_port()), "OLLAMA_HOST": dead_ollama,
           "INGEST_LISTEN": f"127.0.0.1:{free_port()}", "SYNTH_LISTEN": f"127.0.0.1:{free_port()}",
           "INGEST_METRICS_LISTEN": "127.0.0.1:0", "SYNTH_METRICS_LISTEN": "127.0.0.1:0"}

    process, banner = await start_stack(env)
    token = json.loads((data / "dev-credentials.json").read_text())["synth_token"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        response = await http.post("/api/v1/synthetic-data", headers={"authorization": f"Bearer {token}"},
                                   json={"payload": {"prompt": "a customer", "count": 1}})
    await stop_stack(process)

    assert dead_ollama in banner
    assert response.status_code == 503
    assert response.json() == {"error": f"Ollama is unreachable at {dead_ollama}"}


async def test_make_run_stops_when_the_gateway_dies(database: str) -> None:
    data = scratch_dir("parley-run-dead-gw-")
    env = {**os.environ, "PARLEY_DATA_DIR": str(data), "DATABASE_URL": database,
           "GATEWAY_PORT": str(free_port()), "GATEWAY_ADMIN_PORT": str(free_port()),
           "INGEST_LISTEN": f"127.0.0.1:{free_port()}", "SYNTH_LISTEN": f"127.0.0.1:{free_port()}",
           "INGEST_METRICS_LISTEN": "127.0.0.1:0", "SYNTH_METRICS_LISTEN": "127.0.0.1:0"}
    process, _ = await start_stack(env)
    envoy = await asyncio.create_subprocess_exec("pkill", "-f", str(data / "gateway" / "envoy.yaml"))
    assert await envoy.wait() == 0

    assert process.stdout is not None
    rest = (await asyncio.wait_for(process.stdout.read(), timeout=60)).decode()
    assert await process.wait() == 1
    assert "gateway exited unexpectedly" in rest
    assert "stopped" in rest
