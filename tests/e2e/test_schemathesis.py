"""Schemathesis, a client nobody here wrote, against the OpenAPI document the gateway serves.

Every check is on: no server error, every response as its schema declares, 405 with Allow
for undeclared methods, schema-violating requests refused and schema-valid ones accepted
(2xx, or a documented answer that depends on stored data: 404 for a parent not stored,
409 for a summaryId taken; or 413 for a body over the gateway's byte bound, which JSON
Schema cannot state: schemathesis.toml). The run is bounded by a fixed example count and seed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.stack.settings import StackSettings
from services.stack.stack import Stack
from services.synth.providers.catalog import OPENAI_COMPATIBLE
from testkit.fakes.ollama import FakeOllama
from testkit.fakes.openai import FakeOpenAI
from tests.conftest import API_KEY, ROOT, TOKEN, ingest_overrides, scratch_dir, synth_overrides

HERE = Path(__file__).resolve().parent
EXAMPLES = 10
SEED = 1


@pytest.fixture(scope="module")
async def every_provider(database: str, fake_ollama: FakeOllama, fake_openai: FakeOpenAI) -> AsyncIterator[Stack]:
    """A deployment that offers every provider the contract names (each OpenAI-compatible one
    answered by the fake), so that every provider the document lists is one it serves."""
    settings = StackSettings(data_dir=scratch_dir("parley-contract-"), database_url=database,
                             gateway_port=0, gateway_admin_port=0)
    urls = {f"{name}_base_url": fake_openai.url for name in OPENAI_COMPATIBLE}
    overrides = {"ingest": ingest_overrides(), "synth": synth_overrides(fake_ollama.url, **urls)}
    running = Stack(settings, overrides=overrides, in_process=True)
    await running.start()
    yield running
    await running.stop()


@pytest.mark.timeout(600)  # about 80 s here: the coverage phase alone sends some 1,500 requests
async def test_every_operation_keeps_its_declared_contract(every_provider: Stack, db: asyncpg.Connection,
                                                           ollama: FakeOllama, openai: FakeOpenAI) -> None:
    """`ollama` and `openai`: the fakes as a test finds them, with nothing queued by another."""
    assert every_provider.gateway is not None
    command = [
        os.path.join(os.path.dirname(sys.executable), "st"), "--config-file", str(HERE / "schemathesis.toml"), "run",
        f"http://127.0.0.1:{every_provider.gateway.port}/api/openapi.json",
        "--checks", "all", "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
        "--no-color", "--generation-database", "none",  # no failures replayed from an earlier run
        "-H", f"x-api-key: {API_KEY}", "-H", f"Authorization: Bearer {TOKEN}",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
           "PYTHONPATH": f"{ROOT}:{ROOT / 'build' / 'python'}"}
    # Async: the services answering it run on this test's event loop.
    process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    report = out.decode(errors="replace")

    found = report.find("FAILURES")
    assert process.returncode == 0, report[found:found + 12000] if found >= 0 else report[-6000:]
    assert "Tested: 17" in report, report[-3000:]
