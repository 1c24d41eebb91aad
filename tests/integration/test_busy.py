"""Past a service's cap on requests in progress, the gateway answers 503 with Retry-After, at once."""

from __future__ import annotations

import asyncio

import httpx

from services.stack.settings import StackSettings
from services.stack.stack import Stack
from testkit.fakes.ollama import FakeOllama
from tests.conftest import TOKEN, scratch_dir, synth_overrides

CAP = 4  # gRPC's minimum here is the credential check plus a few requests


async def test_synth_beyond_its_cap_is_busy_with_retry_after(database: str, ollama: FakeOllama) -> None:
    settings = StackSettings(data_dir=scratch_dir("parley-busy-"), database_url=database,
                             gateway_port=0, gateway_admin_port=0)
    overrides = {"synth": synth_overrides(ollama.url, max_concurrent_rpcs=CAP, call_timeout_seconds=10)}
    stack = Stack(settings, overrides=overrides, services=("synth",), in_process=True)
    await stack.start()
    assert stack.gateway is not None
    ollama.tokens_per_second = 100.0  # each record takes about a second
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.gateway.port}", timeout=30) as http:
            replies = await asyncio.gather(*(
                http.post("/api/v1/synthetic-data", headers={"authorization": f"Bearer {TOKEN}"},
                          json={"payload": {"prompt": "a customer", "count": 1}})
                for _ in range(4 * CAP)))
    finally:
        ollama.tokens_per_second = None
        await stack.stop()

    served = [r for r in replies if r.status_code == 200]
    busy = [r for r in replies if r.status_code == 503]
    assert len(served) + len(busy) == len(replies)
    assert served and busy
    for reply in busy:  # refused by the service, or its credential check refused by it: busy either way
        assert reply.headers["retry-after"] == "1"
        assert reply.json()["error"] in ("The service is busy (too many requests in progress); retry shortly",
                                         "Service unavailable")
