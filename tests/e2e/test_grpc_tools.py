"""Standard gRPC tools work through the gateway's one port: buf curl lists, describes and
calls every service by reflection, and health answers."""

from __future__ import annotations

import asyncio
import json

import asyncpg

from gateway.envoy import Gateway
from testkit.fakes.ollama import FakeOllama
from tests.conftest import API_KEY, ROOT, TOKEN

BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"


async def buf_curl(gateway: Gateway, *args: str) -> str:
    assert BUF.exists(), "buf is installed by `make test` (npm @bufbuild/buf)"
    process = await asyncio.create_subprocess_exec(
        str(BUF), "curl", "--protocol", "grpc", "--http2-prior-knowledge", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, out.decode()
    return out.decode()


async def test_reflection_lists_every_api(gateway: Gateway) -> None:
    listed = await buf_curl(gateway, "--list-services", f"http://127.0.0.1:{gateway.port}")
    assert set(listed.split()) >= {"parley.ingest.v1.ConversationService", "parley.synth.v1.SyntheticDataService",
                                   "parley.admin.v1.KeyService", "grpc.health.v1.Health"}


async def test_calls_by_reflection_to_both_services(gateway: Gateway, db: asyncpg.Connection,
                                                    ollama: FakeOllama) -> None:
    url = f"http://127.0.0.1:{gateway.port}"
    listed = json.loads(await buf_curl(gateway, "-H", f"x-api-key: {API_KEY}", "-d", '{"pageSize": 1}',
                                       f"{url}/parley.ingest.v1.ConversationService/ListConversations"))
    generated = json.loads(await buf_curl(
        gateway, "-H", f"authorization: Bearer {TOKEN}", "-d", '{"payload": {"prompt": "a customer", "count": 1}}',
        f"{url}/parley.synth.v1.SyntheticDataService/GenerateSyntheticData"))
    health = json.loads(await buf_curl(gateway, f"{url}/grpc.health.v1.Health/Check"))
    assert listed.get("conversations", []) == []  # the tables are empty for each test
    assert len(generated["data"]) == 1
    assert health == {"status": "SERVING"}
