"""The fake speaks Ollama's wire format: the real `ollama` client reads everything it sends."""

from __future__ import annotations

import httpx
import ollama as ollama_lib
import pytest

from testkit.fakes.ollama import FakeOllama

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


async def test_tags_and_version(ollama: FakeOllama) -> None:
    client = ollama_client(ollama)
    listed = await client.list()
    async with httpx.AsyncClient() as http:
        version = (await http.get(f"{ollama.url}/api/version")).json()
    assert [m.model for m in listed.models] == ["gemma3:4b", "llama3.2:3b"]
    assert version["version"]


async def test_streamed_chat_ends_with_done_reason_and_counts(ollama: FakeOllama) -> None:
    messages = [{"role": "user", "content": "A customer who was charged twice for one order"}]
    chunks = [c async for c in await ollama_client(ollama).chat(
        model="gemma3:4b", messages=messages, format=SCHEMA, stream=True)]

    assert all(not c.done for c in chunks[:-1])
    assert chunks[-1].done and chunks[-1].done_reason == "stop"
    assert chunks[-1].prompt_eval_count and chunks[-1].eval_count
    assert "name" in "".join(c.message.content or "" for c in chunks)


async def test_unknown_model_is_a_404_response_error(ollama: FakeOllama) -> None:
    with pytest.raises(ollama_lib.ResponseError) as caught:
        await ollama_client(ollama).chat(model="nope", messages=[], stream=False)
    assert (caught.value.status_code, caught.value.error) == (404, "model 'nope' not found")


def ollama_client(fake: FakeOllama) -> ollama_lib.AsyncClient:
    return ollama_lib.AsyncClient(host=fake.url)
