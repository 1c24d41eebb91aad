"""Each service's /metrics: RPCs by method and code, latency, the pool, ingest's entities,
synth's records, attempts and tokens; labels never carry a key."""

from __future__ import annotations

import re

import asyncpg
import httpx

from services.stack.stack import Stack
from testkit.fakes.ollama import FakeOllama
from tests.conftest import API_KEY, TOKEN
from tests.factories import batch, conversation


def value(text: str, sample: str) -> float:
    """The value of one sample line (`name{labels}`) in Prometheus text, 0 if absent."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def scrape(stack: Stack, service: str) -> str:
    child = next(c for c in stack.children if c.definition.name == service)
    assert child.running is not None and child.running.metrics_port
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{child.running.metrics_port}/metrics")).text


async def test_ingest_counts_rpcs_entities_and_the_pool(stack: Stack, http: httpx.AsyncClient,
                                                        db: asyncpg.Connection) -> None:
    create = 'parley_rpcs_total{code="OK",method="/parley.ingest.v1.ConversationService/CreateConversations"}'
    before = await scrape(stack, "ingest")
    body = batch(conversation("m-1"), conversation("m-2"))
    await http.post("/api/conversations", json=body, headers={"x-api-key": API_KEY})
    await http.post("/api/conversations", json=body, headers={"x-api-key": API_KEY})  # a replay
    await http.post("/api/conversations", json=batch(conversation(mediaType="Fax")), headers={"x-api-key": API_KEY})
    after = await scrape(stack, "ingest")

    assert value(after, create) - value(before, create) == 2
    for outcome, added in (("stored", 2), ("replayed", 2), ("rejected", 1)):
        sample = f'parley_ingest_entities_total{{outcome="{outcome}"}}'
        assert value(after, sample) - value(before, sample) == added
    # The pool gauge reads the pool of the last ingest this test process started (several do).
    assert 'parley_db_pool_connections{state="open"}' in after
    waits = "parley_db_pool_wait_seconds_count"
    assert value(after, waits) - value(before, waits) >= 2  # one pooled connection per stored batch
    assert "parley_rpc_seconds_bucket" in after
    assert API_KEY not in after


async def test_synth_counts_records_attempts_and_tokens(stack: Stack, http: httpx.AsyncClient,
                                                        ollama: FakeOllama) -> None:
    before = await scrape(stack, "synth")
    ollama.reset("invalid", "valid")
    reply = await http.post("/api/v1/synthetic-data", headers={"authorization": f"Bearer {TOKEN}"},
                            json={"payload": {"prompt": "a customer", "count": 1, "schema": {
                                "type": "object", "properties": {"n": {"type": "string"}}, "required": ["n"]}}})
    after = await scrape(stack, "synth")
    usage = reply.json()["usage"]

    assert value(after, "parley_synth_records_total") - value(before, "parley_synth_records_total") == 1
    for verdict in ("accepted", "rejected"):
        sample = f'parley_synth_attempts_total{{verdict="{verdict}"}}'
        assert value(after, sample) - value(before, sample) == 1
    sample = 'parley_synth_tokens_total{kind="output"}'
    assert value(after, sample) - value(before, sample) == usage["output_tokens"]
    assert 'parley_synth_provider_seconds_count{provider="ollama"}' in after
    assert TOKEN not in after
