"""Session fixtures: the one Stack (real PostgreSQL, grpc.aio servers on free ports, the real Envoy).

PostgreSQL is started once per session. With PGHOST set, the session uses that
server instead (a fresh database in it, dropped at the end), as asyncpg's own
suite does. Every test that touches the database starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
import pytest

from gateway.envoy import Gateway
from services.common.localpg import LocalPostgres
from services.ingest.settings import IngestSettings
from services.stack.settings import StackSettings
from services.stack.stack import Stack, free_port
from services.synth.settings import SynthSettings
from testkit.fakes.ollama import FakeOllama
from testkit.fakes.openai import FakeOpenAI

__all__ = ["free_port"]

API_KEY = "test-key-1"
OTHER_KEY = "second-key"
TOKEN = "test-token-1"
# Short, so "Ollama too slow" is quick to show; the fake's slow answers take 2 s.
CALL_TIMEOUT = 1.0
ROOT = Path(__file__).resolve().parents[1]


def scratch_dir(prefix: str) -> Path:
    """A temporary folder the PostgreSQL service user can reach (pytest's own is root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    return path


def ingest_overrides(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "api_keys": f"{API_KEY},{OTHER_KEY}", "listen": "127.0.0.1:0", "metrics_listen": "127.0.0.1:0",
        "db_startup_timeout_seconds": 5, "query_timeout_seconds": 5, "key_usage_flush_seconds": 0.2,
        "import_chunk_lines": 4,  # imports of a few lines still take several transactions
    }
    return {**values, **overrides}


def ingest_settings(dsn: str, **overrides: Any) -> IngestSettings:
    return IngestSettings(database_url=dsn, **ingest_overrides(**overrides))


def synth_overrides(ollama_url: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "api_tokens": f"{TOKEN},other-token", "listen": "127.0.0.1:0", "metrics_listen": "127.0.0.1:0",
        "ollama_host": ollama_url,
        "call_timeout_seconds": CALL_TIMEOUT, "ollama_concurrency": 4,
    }
    return {**values, **overrides}


def synth_settings(ollama_url: str, **overrides: Any) -> SynthSettings:
    return SynthSettings(**synth_overrides(ollama_url, **overrides))


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[str]:
    """The session's database URL: a throwaway cluster, or a fresh database on $PGHOST."""
    if os.environ.get("PGHOST"):
        name = f"parley_test_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(database=os.environ.get("PGDATABASE", "postgres"))
        await admin.execute(f'CREATE DATABASE "{name}"')
        user = os.environ.get("PGUSER", "postgres")
        yield f"postgresql://{user}@{os.environ['PGHOST']}:{os.environ.get('PGPORT', '5432')}/{name}"
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
        return
    pg = LocalPostgres(scratch_dir("parley-pg-") / "data", free_port(), durable=False)
    pg.start()
    yield pg.dsn
    pg.stop()


@pytest.fixture(scope="session")
def fake_ollama() -> Iterator[FakeOllama]:
    fake = FakeOllama().start()
    yield fake
    fake.stop()


@pytest.fixture
def ollama(fake_ollama: FakeOllama) -> FakeOllama:
    """The session's fake Ollama, with no queued misbehaviour and no recorded calls."""
    fake_ollama.reset()
    return fake_ollama


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def openai(fake_openai: FakeOpenAI) -> FakeOpenAI:
    """The session's fake OpenAI-compatible server (the stack's `llamacpp`), reset."""
    fake_openai.reset()
    return fake_openai


@pytest.fixture(scope="session")
async def stack(database: str, fake_ollama: FakeOllama, fake_openai: FakeOpenAI) -> AsyncIterator[Stack]:
    settings = StackSettings(data_dir=scratch_dir("parley-stack-"), database_url=database,
                             gateway_port=0, gateway_admin_port=0)
    overrides = {"ingest": ingest_overrides(),
                 "synth": synth_overrides(fake_ollama.url, llamacpp_base_url=fake_openai.url)}
    running = Stack(settings, overrides=overrides, in_process=True)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> None:
    """Every test that uses the database starts with none of another test's rows."""
    if "database" in request.fixturenames:
        conn = await asyncpg.connect(request.getfixturevalue("database"))
        try:
            await conn.execute("TRUNCATE summaries, api_keys RESTART IDENTITY CASCADE")
        except asyncpg.UndefinedTableError:
            pass  # not migrated yet: the stack migrates when it starts
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def ingest(stack: Stack) -> int:
    return stack.port("ingest")


@pytest.fixture(scope="session")
def synth(stack: Stack) -> int:
    return stack.port("synth")


@pytest.fixture(scope="session")
def gateway(stack: Stack) -> Gateway:
    assert stack.gateway is not None
    return stack.gateway


@pytest.fixture(scope="session")
async def http(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}", timeout=30) as client:
        yield client


@pytest.fixture
async def db(database: str, stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test database (emptied before the test, like every test's)."""
    conn = await asyncpg.connect(database)
    yield conn
    await conn.close()


@pytest.fixture(scope="session")
async def gateway_channel(gateway: Gateway) -> AsyncIterator[grpc.aio.Channel]:
    """Native gRPC through the gateway's one port."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        yield channel


@pytest.fixture(scope="session")
async def synth_channel(synth: int) -> AsyncIterator[grpc.aio.Channel]:
    """Native gRPC straight to the synth server."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{synth}") as channel:
        yield channel


@pytest.fixture(scope="session")
async def ingest_channel(ingest: int) -> AsyncIterator[grpc.aio.Channel]:
    """Native gRPC straight to the ingest server."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{ingest}") as channel:
        yield channel
