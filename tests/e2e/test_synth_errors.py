"""Every synth error is JSON with the right status, through the gateway; never a 200 hiding one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from testkit.fakes.ollama import FakeOllama
from tests.conftest import CALL_TIMEOUT, TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}
PATH = "/api/v1/synthetic-data"


def request(prompt: str = "A customer support conversation", **payload: Any) -> dict[str, Any]:
    config = payload.pop("config", {})
    return {"payload": {"prompt": prompt, **payload}, "config": config}


async def post(http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] = AUTH) -> httpx.Response:
    return await http.post(PATH, json=body, headers=headers)


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == ["error"]
    if message is not None:
        assert response.json()["error"] == message
    return str(response.json()["error"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (request(""), "payload.prompt is required"),
        (request("   "), "payload.prompt is required"),
        ({"config": {"model": "gemma3:4b"}}, "payload.prompt is required"),
        (request(count=0), "payload.count must be between 1 and 100"),
        (request(count=101), "payload.count must be between 1 and 100"),
        (request(config={"provider": "openai"}),
         "config.provider 'openai' is not supported; supported: ollama, llamacpp"),
        (request(config={"temperature": 2.5}), "config.temperature must be between 0 and 2"),
        (request(config={"max_retries": 99}), "config.max_retries must be between 0 and 10"),
        (request(schema={"type": "array"}),
         "payload.schema of type array needs an object schema in items (the record schema)"),
        (request(count=5, schema={"type": "array", "maxItems": 3, "items": {"type": "object"}}),
         "payload.count 5 is outside the schema's minItems..maxItems (0..3)"),
    ],
)
async def test_bad_requests_are_400(http: httpx.AsyncClient, ollama: FakeOllama, body: dict[str, Any],
                                    message: str) -> None:
    assert_error(await post(http, body), 400, message)
    assert ollama.calls == []


async def test_invalid_json_schema_names_what_is_wrong(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    body = request(schema={"type": "object", "properties": {"age": {"type": "integr"}}})
    error = assert_error(await post(http, body), 400)
    assert error.startswith("payload.schema is not a valid JSON Schema: ")
    assert "properties/age/type" in error


async def test_unknown_model_names_it_and_how_to_pull_it(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    response = await post(http, request(config={"model": "mistral:7b"}))
    error = assert_error(response, 404)
    assert "'mistral:7b'" in error
    assert "ollama pull mistral:7b" in error


async def test_slow_ollama_is_504(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    ollama.reset("slow")
    error = assert_error(await post(http, request()), 504)
    assert error == f"Ollama at {ollama.url} did not answer within {CALL_TIMEOUT:g}s"


@pytest.mark.parametrize("behaviour", ["error500", "error503", "stream_error"])
async def test_ollama_failures_are_503_with_a_short_message(
    http: httpx.AsyncClient, ollama: FakeOllama, behaviour: str
) -> None:
    ollama.reset(behaviour)
    error = assert_error(await post(http, request()), 503)
    assert error.startswith(f"Ollama at {ollama.url} failed")
    assert len(error) < 300


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer nope"}, {"authorization": f"Basic {TOKEN}"},
                                     {"authorization": TOKEN}, {"x-api-key": TOKEN}])
async def test_unauthorized(http: httpx.AsyncClient, ollama: FakeOllama, headers: dict[str, str]) -> None:
    assert_error(await post(http, request(), headers=headers), 401, "Unauthorized")
    assert_error(await http.post(PATH + ":stream", json=request(), headers=headers), 401, "Unauthorized")
    assert ollama.calls == []


async def test_wrong_method_is_405(http: httpx.AsyncClient) -> None:
    response = await http.get(PATH, headers=AUTH)
    assert_error(response, 405)
    assert response.headers["allow"] == "POST"
