"""Variety across a batch: enum and boolean values spread over the records (each record
told its own), personas in turn, near-duplicates refused, and the result's diversity said."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import httpx

from testkit.fakes.ollama import FakeOllama
from tests.conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}
TICKET = {"type": "object", "required": ["category", "urgent", "subject", "body"], "properties": {
    "category": {"enum": ["billing", "delivery", "login", "refund"]}, "urgent": {"type": "boolean"},
    "subject": {"type": "string"}, "body": {"type": "string"}}}


async def generate(http: httpx.AsyncClient, count: int, **config: Any) -> dict[str, Any]:
    reply = await http.post("/api/v1/synthetic-data", headers=AUTH, json={
        "payload": {"prompt": "Support tickets", "count": count, "schema": TICKET}, "config": config})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def told(ollama: FakeOllama, field: str) -> Counter[str]:
    """What each record's prompt told it to set `field` to."""
    found = Counter[str]()
    for call in ollama.calls:
        match = re.search(rf'{field} = ("[^"]*"|true|false)', call["messages"][-1]["content"])
        if match:
            found[match[1]] += 1
    return found


async def test_enum_and_boolean_values_are_spread_evenly(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    body = await generate(http, 8, seed=3)
    assert told(ollama, "category") == {'"billing"': 2, '"delivery"': 2, '"login"': 2, '"refund"': 2}
    assert told(ollama, "urgent") == {"true": 4, "false": 4}
    diversity = body["metadata"]["diversity"]
    assert set(diversity["distinct_values"]) == {"category", "urgent"}
    assert diversity["distinct_values"]["category"] == len({r["category"] for r in body["data"]})


async def test_spreading_can_be_narrowed_or_turned_off(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    await generate(http, 4, free_fields=["category"])
    assert told(ollama, "category") == {} and sum(told(ollama, "urgent").values()) == 4
    ollama.reset()
    await generate(http, 4, spread=False)
    assert all("In this record" not in call["messages"][-1]["content"] for call in ollama.calls)


async def test_personas_are_given_in_turn(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    await generate(http, 4, personas=["a retired teacher in Porto", "a student who hates phone calls"])
    prompts = sorted(call["messages"][-1]["content"] for call in ollama.calls)
    assert sum("a retired teacher in Porto" in p for p in prompts) == 2
    assert sum("a student who hates phone calls" in p for p in prompts) == 2


async def test_a_near_duplicate_is_refused_and_counted(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    ollama.reset("valid", "near_duplicate", "valid")
    body = await generate(http, 2, max_retries=2, spread=False)
    assert body["metadata"]["failures"] == {"near_duplicate": 1}
    assert body["metadata"]["diversity"]["near_duplicates"] == 1
    assert "nearly what a record already generated says" in ollama.calls[2]["messages"][-1]["content"]


async def test_a_free_field_with_nothing_to_spread_changes_nothing(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    ollama.reset("valid", "valid")
    named = await generate(http, 2, seed=7, free_fields=["subject"])
    named_prompts = sorted(c["messages"][-1]["content"] for c in ollama.calls)
    ollama.reset("valid", "valid")
    await generate(http, 2, seed=7)
    assert named["metadata"]["validation_passed"] is True
    # "subject" is free text, not an enum: each record is told exactly what it is told without it.
    assert named_prompts == sorted(c["messages"][-1]["content"] for c in ollama.calls)


async def test_bad_diversity_settings_are_400s(http: httpx.AsyncClient) -> None:
    for config, error in [
        ({"personas": ["x" * 201]}, "config.personas[0] must be 1 to 200 characters"),
        ({"personas": [" "]}, "config.personas[0] must be 1 to 200 characters"),
        ({"personas": ["p"] * 101}, "config.personas holds at most 100 entries"),
    ]:
        reply = await http.post("/api/v1/synthetic-data", headers=AUTH, json={
            "payload": {"prompt": "Tickets", "count": 1, "schema": TICKET}, "config": config})
        assert (reply.status_code, reply.json()) == (400, {"error": error}), config
