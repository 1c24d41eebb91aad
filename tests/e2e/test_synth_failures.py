"""A synth response says why answers were rejected, by kind, so a short result explains itself."""

from __future__ import annotations

from typing import Any

import httpx

from testkit.fakes.ollama import FakeOllama
from tests.conftest import TOKEN

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


async def generate(http: httpx.AsyncClient, retries: int) -> dict[str, Any]:
    reply = await http.post("/api/v1/synthetic-data", headers={"authorization": f"Bearer {TOKEN}"},
                            json={"payload": {"prompt": "a customer", "count": 1, "schema": SCHEMA},
                                  "config": {"max_retries": retries}})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def test_rejections_are_counted_by_kind(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    ollama.reset("malformed", "invalid", "truncated", "valid")
    metadata = (await generate(http, retries=3))["metadata"]
    assert metadata["validation_passed"] is True
    assert metadata["failures"] == {"not_json": 1, "schema": 1, "truncated": 1}


async def test_an_empty_result_says_why(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    ollama.reset("invalid", "invalid", "invalid")
    body = await generate(http, retries=2)
    assert body["data"] == []
    assert body["metadata"]["validation_passed"] is False
    assert body["metadata"]["failures"] == {"schema": 3}


async def test_no_rejections_no_failures(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    assert (await generate(http, retries=0))["metadata"]["failures"] == {}


async def test_a_number_json_cannot_carry_is_a_rejected_attempt_not_a_broken_response(
        http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    """A real model once wrote a 400-digit number: Python read it as inf, the schema let it
    through, and the gateway answered 503 with the generated work lost."""
    ollama.reset("huge_number", "nan", "valid")
    body = await generate(http, retries=3)
    assert body["metadata"]["failures"] == {"unrepresentable": 2}
    assert body["metadata"]["validation_passed"] is True
    assert isinstance(body["data"][0]["name"], str)
