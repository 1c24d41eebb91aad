"""Session fixtures: a real PostgreSQL, real grpc.aio servers on free ports, the real Envoy."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import grpc
import httpx
import pytest

from gateway.envoy import Gateway
from services.common.localpg import LocalPostgres
from services.ingest.__main__ import start as start_ingest
from services.ingest.settings import IngestSettings
from services.synth.__main__ import start as start_synth
from services.synth.settings import SynthSettings
from tests.fakes.ollama import FakeOllama

API_KEY = "test-key-1"
OTHER_KEY = "second-key"
TOKEN = "test-token-1"
# Short, so "Ollama too slow" is quick to show; the fake's slow answers take 2 s.
CALL_TIMEOUT = 1.0
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scratch_dir(prefix: str) -> Path:
    """A temporary folder the PostgreSQL service user can reach (pytest's own is root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    pg = LocalPostgres(scratch_dir("parley-pg-") / "data", free_port())
    pg.start()
    yield pg
    pg.stop()


def ingest_settings(dsn: str, **overrides: object) -> IngestSettings:
    values: dict[str, object] = {
        "database_url": dsn, "api_keys": f"{API_KEY},{OTHER_KEY}", "listen": "127.0.0.1:0",
        "db_startup_timeout_seconds": 5, "query_timeout_seconds": 5,
    }
    values.update(overrides)
    return IngestSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def ingest(postgres: LocalPostgres) -> AsyncIterator[int]:
    server, storage, port = await start_ingest(ingest_settings(postgres.dsn))
    yield port
    await server.stop(0)
    await storage.close()


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


def synth_settings(ollama_url: str, **overrides: object) -> SynthSettings:
    values: dict[str, object] = {
        "api_tokens": f"{TOKEN},other-token", "listen": "127.0.0.1:0", "ollama_host": ollama_url,
        "call_timeout_seconds": CALL_TIMEOUT, "ollama_concurrency": 4,
    }
    values.update(overrides)
    return SynthSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def synth(fake_ollama: FakeOllama) -> AsyncIterator[int]:
    server, providers, port = await start_synth(synth_settings(fake_ollama.url))
    yield port
    await server.stop(0)
    for provider in providers:
        await provider.close()


@pytest.fixture(scope="session")
def gateway(ingest: int, synth: int) -> Iterator[Gateway]:
    gw = Gateway(scratch_dir("parley-gw-"), ingest_port=ingest, synth_port=synth)
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture(scope="session")
async def http(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}", timeout=30) as client:
        yield client


@pytest.fixture
async def db(postgres: LocalPostgres, ingest: int) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test database, emptied before the test."""
    conn = await asyncpg.connect(postgres.dsn)
    await conn.execute("TRUNCATE summaries RESTART IDENTITY CASCADE")
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
