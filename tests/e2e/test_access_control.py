"""Scoped API keys managed without a restart: scopes over REST and native gRPC, revoke,
rotate, expiry, Basic auth, the CLI, and log lines that name the key (never the key)."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import grpc
import httpx
import pytest

from parley.admin.v1 import key_service_pb2 as admin_pb
from parley.admin.v1 import key_service_pb2_grpc as admin_grpc
from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from services.common.logs import install_key_field
from testkit.fakes.ollama import FakeOllama
from tests.conftest import API_KEY, ROOT
from tests.factories import batch, conversation

ADMIN = {"x-api-key": API_KEY}  # INGEST_API_KEYS are bootstrap keys with admin
# A revoked key is refused within the cache delay (INGEST_KEY_CACHE_SECONDS, 2 s by default).
WITHIN = 10.0


async def create_key(http: httpx.AsyncClient, name: str, *scopes: str, days: int = 0) -> str:
    response = await http.post("/api/keys", headers=ADMIN, json={"name": name, "scopes": list(scopes),
                                                                 "expiresInDays": days})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["key"]["name"] == name and sorted(body["key"]["scopes"]) == sorted(scopes)
    secret: str = body["secret"]
    return secret


async def eventually(check: Callable[[], Awaitable[bool]]) -> bool:
    deadline = asyncio.get_running_loop().time() + WITHIN
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


def calls(key: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        "conversations:write": ("POST", "/api/conversations", {"json": batch(conversation(f"w-{key[-6:]}"))}),
        "conversations:read": ("GET", "/api/conversations", {}),
        "conversations:delete": ("DELETE", "/api/conversations/none-such", {}),
        "admin": ("GET", "/api/keys", {}),
    }


@pytest.mark.parametrize("scope", ["conversations:write", "conversations:read", "conversations:delete", "admin"])
async def test_each_scope_allows_its_calls_and_only_those(
    http: httpx.AsyncClient, db: asyncpg.Connection, scope: str
) -> None:
    key = await create_key(http, f"only-{scope.replace(':', '-')}", scope)
    for needed, (method, path, extra) in calls(key).items():
        response = await http.request(method, path, headers={"x-api-key": key}, **extra)
        if needed == scope:
            assert response.status_code in (200, 404), response.text  # 404: deleting a summary that is not there
        else:
            assert (response.status_code, response.json()) == (403, {"error": f"This key lacks the scope {needed}"})


async def test_synth_needs_its_scope(http: httpx.AsyncClient, db: asyncpg.Connection, ollama: FakeOllama) -> None:
    reader = await create_key(http, "reader", "conversations:read")
    generator = await create_key(http, "generator", "synth:generate")
    body = {"payload": {"prompt": "a customer", "count": 1}}
    refused = await http.post("/api/v1/synthetic-data", json=body, headers={"authorization": f"Bearer {reader}"})
    allowed = await http.post("/api/v1/synthetic-data", json=body, headers={"authorization": f"Bearer {generator}"})
    assert (refused.status_code, refused.json()) == (403, {"error": "This key lacks the scope synth:generate"})
    assert allowed.status_code == 200, allowed.text


@pytest.mark.parametrize("scope", ["conversations:write", "conversations:read", "conversations:delete", "admin"])
async def test_each_scope_over_native_grpc(gateway_channel: grpc.aio.Channel, http: httpx.AsyncClient,
                                           db: asyncpg.Connection, scope: str) -> None:
    key = await create_key(http, f"grpc-{scope.replace(':', '-')}", scope)
    metadata = (("x-api-key", key),)
    conversations = pb_grpc.ConversationServiceStub(gateway_channel)
    admin = admin_grpc.KeyServiceStub(gateway_channel)
    rpcs = {
        "conversations:write": conversations.CreateConversations(pb.CreateConversationsRequest(entities=[
            pb.ConversationEntity(summary_type="Conversation", media_type="Call", language="en", summary_id="g-1",
                                  source_id="s", summary="s", generated=True, date_created="2025-01-01T00:00:00Z")]),
            metadata=metadata),
        "conversations:read": conversations.ListConversations(pb.ListConversationsRequest(), metadata=metadata),
        "conversations:delete": conversations.DeleteConversation(pb.DeleteConversationRequest(summary_id="x"),
                                                                 metadata=metadata),
        "admin": admin.ListKeys(admin_pb.ListKeysRequest(), metadata=metadata),
    }
    for needed, call in rpcs.items():
        try:
            await call
            code = grpc.StatusCode.OK
        except grpc.aio.AioRpcError as exc:
            code, details = exc.code(), exc.details()
        if needed == scope:
            assert code in (grpc.StatusCode.OK, grpc.StatusCode.NOT_FOUND)
        else:
            assert (code, details) == (grpc.StatusCode.PERMISSION_DENIED, f"This key lacks the scope {needed}")


async def test_last_use_is_recorded(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    key = await create_key(http, "used", "conversations:read")
    before = (await http.get("/api/keys", headers=ADMIN)).json()["keys"][0]
    await http.get("/api/conversations", headers={"x-api-key": key})

    async def recorded() -> bool:
        listed = (await http.get("/api/keys", headers=ADMIN)).json()["keys"]
        return bool([k for k in listed if k["name"] == "used" and k["lastUsedTime"]])

    assert before["lastUsedTime"] == ""
    assert await eventually(recorded)


async def test_revoke_and_rotate_without_a_restart(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    first = await create_key(http, "genesys-prod", "conversations:read")

    async def works(key: str) -> bool:
        return (await http.get("/api/conversations", headers={"x-api-key": key})).status_code == 200

    async def refused(key: str) -> bool:
        response = await http.get("/api/conversations", headers={"x-api-key": key})
        return (response.status_code, response.json()) == (401, {"error": "Unauthorized"})

    assert await works(first)
    rotated = await http.post("/api/keys/genesys-prod:rotate", headers=ADMIN, json={})
    second = rotated.json()["secret"]
    assert rotated.status_code == 200 and second != first
    assert await works(second)
    assert await eventually(lambda: refused(first))

    revoked = await http.post("/api/keys/genesys-prod:revoke", headers=ADMIN, json={})
    assert revoked.status_code == 200 and revoked.json()["key"]["revokeTime"]
    assert await eventually(lambda: refused(second))
    listed = (await http.get("/api/keys", headers=ADMIN)).json()["keys"]
    assert [k["name"] for k in listed] == ["genesys-prod"]
    assert first not in str(listed) and second not in str(listed)


async def test_an_expired_key_is_refused(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    key = await create_key(http, "short-lived", "conversations:read", days=1)
    assert (await http.get("/api/conversations", headers={"x-api-key": key})).status_code == 200
    await db.execute("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE name = 'short-lived'")

    async def refused() -> bool:
        return (await http.get("/api/conversations", headers={"x-api-key": key})).status_code == 401

    assert await eventually(refused)


async def test_basic_auth_with_the_key_as_password(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    key = await create_key(http, "genesys-basic", "conversations:write")
    basic = base64.b64encode(f"genesys-cloud:{key}".encode()).decode()
    wrong = base64.b64encode(b"genesys-cloud:pk_wrong").decode()
    ok = await http.post("/api/conversations", json=batch(conversation("b-1")),
                         headers={"authorization": f"Basic {basic}"})
    refused = await http.post("/api/conversations", json=batch(conversation("b-2")),
                              headers={"authorization": f"Basic {wrong}"})
    assert ok.status_code == 200, ok.text
    assert (refused.status_code, refused.json()) == (401, {"error": "Unauthorized"})


@pytest.mark.parametrize(("body", "expected"), [
    ({"name": "x", "scopes": ["everything"]}, "unknown scope everything"),
    ({"name": "x", "scopes": []}, "scopes must name at least one of"),
    ({"name": "a b", "scopes": ["admin"]}, "name must be 1-63 letters"),
    ({"name": "x", "scopes": ["admin"], "expiresInDays": -1}, "expiresInDays must be between"),
])
async def test_bad_key_requests_are_a_400(http: httpx.AsyncClient, db: asyncpg.Connection,
                                          body: dict[str, Any], expected: str) -> None:
    response = await http.post("/api/keys", headers=ADMIN, json=body)
    assert response.status_code == 400 and expected in response.json()["error"], response.text


async def test_a_taken_name_is_a_409(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_key(http, "twice", "admin")
    again = await http.post("/api/keys", headers=ADMIN, json={"name": "twice", "scopes": ["admin"]})
    assert again.status_code == 409 and "already exists" in again.json()["error"]


async def test_the_cli_manages_keys(http: httpx.AsyncClient, db: asyncpg.Connection, database: str) -> None:
    async def cli(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "parley", "--database-url", database, "keys", *args, cwd=ROOT,
            env=os.environ, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await process.communicate()
        assert process.returncode == 0, out.decode()
        return out.decode()

    created = await cli("create", "--name", "from-cli", "--scope", "conversations:read")
    key = created.strip().splitlines()[-1]
    assert key.startswith("pk_")
    assert (await http.get("/api/conversations", headers={"x-api-key": key})).status_code == 200
    listing = await cli("list")
    assert "from-cli\tlive\tconversations:read" in listing and key not in listing
    await cli("revoke", "from-cli")

    async def refused() -> bool:
        return (await http.get("/api/conversations", headers={"x-api-key": key})).status_code == 401

    assert await eventually(refused)


async def test_log_lines_name_the_key_never_the_key(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    install_key_field()
    key = await create_key(http, "logged", "conversations:read")
    caplog.set_level(logging.INFO)
    await http.get("/api/conversations/none-such", headers={"x-api-key": key})
    lines = [r for r in caplog.records if r.name == "parley.rpc" and "GetConversation" in r.getMessage()]
    assert lines and all(getattr(r, "key", None) == "logged" for r in lines)
    assert key not in caplog.text


async def test_any_valid_key_can_ask_what_it_may_do(http: httpx.AsyncClient) -> None:
    """GET /api/keys:self: the console's way to disable what a key may not do, and why."""
    reader = await create_key(http, "self-reader", "conversations:read")
    mine = await http.get("/api/keys:self", headers={"x-api-key": reader})
    assert mine.status_code == 200, mine.text
    assert mine.json()["key"]["name"] == "self-reader" and mine.json()["key"]["scopes"] == ["conversations:read"]
    boot = await http.get("/api/keys:self", headers=ADMIN)
    assert boot.json()["key"]["name"] == "bootstrap-ingest-1" and "admin" in boot.json()["key"]["scopes"]
    nobody = await http.get("/api/keys:self", headers={"x-api-key": "pk_wrong"})
    assert nobody.status_code == 401 and nobody.json() == {"error": "Unauthorized"}
    wrong_method = await http.post("/api/keys:self", headers={"x-api-key": reader})
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET"
