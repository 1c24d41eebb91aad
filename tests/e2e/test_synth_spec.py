"""docs/specs/synthetic-data-api.md's request, verbatim, through the gateway, against the fake Ollama."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema

from gateway.envoy import Gateway
from testkit.fakes.ollama import FakeOllama
from testkit.spec import SYNTHETIC, curl_example, json_example
from tests.conftest import TOKEN


def spec_request() -> dict[str, Any]:
    command = curl_example(SYNTHETIC)
    return json.loads(command.split("-d '", 1)[1].rsplit("'", 1)[0])


async def run_curl(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    command = curl_example(SYNTHETIC)
    command = command.replace("http://localhost:3000", f"http://127.0.0.1:{gateway.port}")
    command = command.replace("YOUR_TOKEN", TOKEN)
    command = command.replace("curl ", "curl -s -w '\\n%{http_code}' ", 1)
    process = await asyncio.create_subprocess_exec("bash", "-c", command, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    body, status = out.decode().rsplit("\n", 1)
    return int(status), json.loads(body)


async def test_spec_request_verbatim_returns_five_valid_records(gateway: Gateway, ollama: FakeOllama) -> None:
    status, body = await run_curl(gateway)

    assert status == 200
    record_schema = spec_request()["payload"]["schema"]["items"]
    assert len(body["data"]) == 5
    for record in body["data"]:
        jsonschema.validate(record, record_schema)
    assert len({json.dumps(r, sort_keys=True) for r in body["data"]}) == 5
    assert (body["provider"], body["model"]) == ("ollama", "gemma3:4b")
    assert body["metadata"]["count"] == 5
    assert body["metadata"]["validation_passed"] is True
    assert len(ollama.calls) == 5


async def test_response_has_exactly_the_documented_keys(gateway: Gateway, ollama: FakeOllama) -> None:
    documented = json_example(SYNTHETIC, "Example Response")
    status, body = await run_curl(gateway)

    assert status == 200
    assert list(body) == list(documented)
    assert list(body["usage"]) == list(documented["usage"]) == ["input_tokens", "output_tokens", "total_tokens"]
    assert set(documented["metadata"]) <= set(body["metadata"])
    assert body["metadata"]["requested"] == 5
    assert body["metadata"]["failed_attempts"] == 0
    assert body["metadata"]["schema_draft"] == "2020-12"
    assert set(body["data"][0]) == set(documented["data"][0])


async def test_usage_is_the_sum_over_every_call(gateway: Gateway, ollama: FakeOllama) -> None:
    status, body = await run_curl(gateway)

    assert status == 200
    assert body["usage"]["input_tokens"] > 0
    assert body["usage"]["total_tokens"] == body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    prompt_chars = sum(sum(len(m["content"]) for m in call["messages"]) for call in ollama.calls)
    assert body["usage"]["input_tokens"] == sum(
        sum(len(m["content"]) for m in call["messages"]) // 4 for call in ollama.calls)
    assert prompt_chars > 0


async def test_constrains_with_the_record_schema_and_forwards_options(gateway: Gateway, ollama: FakeOllama) -> None:
    await run_curl(gateway)

    record_schema = spec_request()["payload"]["schema"]["items"]
    for call in ollama.calls:
        assert call["format"] == record_schema
        assert call["model"] == "gemma3:4b"
        assert call["options"]["temperature"] == 0.8
        stated = call["messages"][0]["content"].split("JSON Schema:\n", 1)[1]
        assert json.loads(stated) == record_schema  # also stated in the prompt, as Ollama advises
        assert spec_request()["payload"]["prompt"] in call["messages"][1]["content"]
    assert sorted(c["messages"][1]["content"].split("Write record ")[1][:6] for c in ollama.calls) == [
        f"{i} of 5" for i in range(1, 6)]
