"""config.provider beyond Ollama: an OpenAI-compatible server (the stack's `llamacpp` is a fake
speaking OpenAI's wire format), its response_format fallbacks, GET /api/v1/models, and the
upstream's config.stream and max_tokens."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema

from testkit.fakes.ollama import FakeOllama
from testkit.fakes.openai import FakeOpenAI
from tests.conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}
TICKET = {"type": "object", "properties": {"subject": {"type": "string"}, "priority": {"enum": ["low", "high"]}},
          "required": ["subject", "priority"]}


async def generate(http: httpx.AsyncClient, path: str = "/api/v1/synthetic-data", **config: Any) -> httpx.Response:
    return await http.post(path, headers=AUTH, json={"payload": {"prompt": "Support tickets", "count": 2,
                                                                 "schema": TICKET}, "config": config})


async def test_an_openai_compatible_server_generates_with_a_strict_schema(
        http: httpx.AsyncClient, openai: FakeOpenAI) -> None:
    reply = await generate(http, provider="llamacpp", seed=7, temperature=0.5, max_tokens=300)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["provider"], body["model"]) == ("llamacpp", "gemma-3-270m")  # the first model it serves
    for record in body["data"]:
        jsonschema.validate(record, TICKET)
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0
    assert body["usage"]["total_tokens"] == body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    call = openai.calls[0]
    assert call["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "record", "schema": TICKET, "strict": True}}
    assert (call["temperature"], call["max_tokens"], isinstance(call["seed"], int)) == (0.5, 300, True)
    # Ollama's sampling defaults, which keep a small model from looping inside strings.
    assert (call["top_k"], call["top_p"], call["min_p"], call["repeat_penalty"]) == (40, 0.9, 0.0, 1.1)


async def test_response_format_falls_back_and_remembers(http: httpx.AsyncClient, openai: FakeOpenAI) -> None:
    async def one(schema: dict[str, Any]) -> None:
        reply = await http.post("/api/v1/synthetic-data", headers=AUTH, json={
            "payload": {"prompt": "Tickets", "count": 1, "schema": schema}, "config": {"provider": "llamacpp"}})
        assert reply.status_code == 200, reply.text

    def asked() -> list[tuple[str, bool | None]]:
        return [(c["response_format"]["type"], c["response_format"].get("json_schema", {}).get("strict"))
                for c in openai.calls]

    optional = {**TICKET, "description": "OpenAI's strict mode refuses this one"}
    openai.reset(refuses=("strict",))
    await one(optional)
    assert asked() == [("json_schema", True), ("json_schema", None)]  # refused strict, then without
    await one(optional)
    assert asked()[2:] == [("json_schema", None)]  # the next call asks the way that worked

    plain = {**TICKET, "description": "a server without JSON Schema support"}
    openai.reset(refuses=("json_schema",))
    await one(plain)
    assert [kind for kind, _ in asked()] == ["json_schema", "json_schema", "json_object"]
    assert "JSON Schema" in openai.calls[-1]["messages"][0]["content"]  # the schema still reaches the model


async def test_an_answer_in_prose_is_taken_out(http: httpx.AsyncClient, openai: FakeOpenAI) -> None:
    openai.reset("fence", "valid")
    body = (await generate(http, provider="llamacpp")).json()
    assert body["metadata"]["failed_attempts"] == 0 and len(body["data"]) == 2


async def test_a_model_the_server_does_not_serve_is_a_404_naming_what_it_serves(
        http: httpx.AsyncClient, openai: FakeOpenAI) -> None:
    reply = await generate(http, provider="llamacpp", model="gpt-9")
    assert reply.status_code == 404
    assert reply.json() == {"error": "Model 'gpt-9' is not served by llamacpp at http://127.0.0.1:"
                                     f"{openai.url.split(':')[-1].split('/')[0]}; it serves: gemma-3-270m"}
    assert openai.calls == []  # refused before generating anything


async def test_an_unknown_provider_is_a_400_listing_the_configured_ones(http: httpx.AsyncClient) -> None:
    reply = await generate(http, provider="anthropic")
    assert reply.status_code == 400
    assert reply.json() == {"error": "config.provider 'anthropic' is not supported; supported: ollama, llamacpp"}


async def test_models_lists_each_provider(http: httpx.AsyncClient, ollama: FakeOllama, openai: FakeOpenAI) -> None:
    reply = await http.get("/api/v1/models", headers=AUTH)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"providers": [
        {"provider": "ollama", "reachable": True, "models": list(ollama.models), "error": "",
         "default_model": "gemma3:4b"},
        {"provider": "llamacpp", "reachable": True, "models": ["gemma-3-270m"], "error": "", "default_model": ""},
    ]}
    assert (await http.get("/api/v1/models")).status_code == 401
    refused = await http.post("/api/v1/models", headers=AUTH, json={})
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET")


async def test_the_upstream_stream_flag_is_honoured_or_refused(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    refused = await generate(http, stream=True)
    assert refused.status_code == 400
    assert refused.json() == {"error": "config.stream is true: streamed records come from "
                                       "POST /api/v1/synthetic-data:stream"}
    assert (await generate(http, stream=False)).status_code == 200
    streamed = await generate(http, "/api/v1/synthetic-data:stream", stream=True)
    assert streamed.status_code == 200 and '"done"' in streamed.text
    wrong = await generate(http, "/api/v1/synthetic-data:stream", stream=False)
    assert (wrong.status_code, wrong.json()) == (400, {
        "error": "config.stream is false: a single answer comes from POST /api/v1/synthetic-data"})


async def test_max_tokens_reaches_ollama_and_is_bounded(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    assert (await generate(http, max_tokens=256)).status_code == 200
    assert ollama.calls[0]["options"]["num_predict"] == 256
    reply = await generate(http, max_tokens=0)
    assert (reply.status_code, reply.json()) == (400, {"error": "config.max_tokens must be between 1 and 32768"})


async def test_a_long_unknown_provider_is_not_echoed_whole(http: httpx.AsyncClient) -> None:
    reply = await generate(http, provider="x" * 5000)
    assert reply.status_code == 400
    assert reply.json() == {"error": f"config.provider '{'x' * 100}...' is not supported; supported: ollama, llamacpp"}
