"""The spec's request against a real model: llama.cpp's llama-server running Gemma 3 270M
on this CPU, reached through the gateway with config.provider "llamacpp" (`make test-llm`;
not part of `make test`: it takes minutes).

Only what a real model guarantees is asserted: the status, the shape, that every returned
record validates, that tokens were counted, and that validation_passed tells the truth.
What the model produced (first-attempt validity, retries, seconds per record, tokens per
second, and the variety with and without spreading) is printed for the README.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from services.stack.settings import StackSettings
from services.stack.stack import Stack
from testkit.fakes.ollama import FakeOllama
from testkit.llm import MODEL_ALIAS, LlamaServer, install
from testkit.spec import SYNTHETIC, curl_example
from tests.conftest import TOKEN, ingest_overrides, scratch_dir, synth_overrides

pytestmark = pytest.mark.llm
AUTH = {"authorization": f"Bearer {TOKEN}"}


def spec_body() -> dict[str, Any]:
    command = curl_example(SYNTHETIC)
    body: dict[str, Any] = json.loads(command.split("-d '", 1)[1].rsplit("'", 1)[0])
    return body


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    server = LlamaServer(install()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def real_http(database: str, llama: LlamaServer) -> AsyncIterator[httpx.AsyncClient]:
    fake_ollama = FakeOllama().start()  # the default provider stays configured; it is not called here
    settings = StackSettings(data_dir=scratch_dir("parley-llm-"), database_url=database, gateway_port=0,
                             gateway_admin_port=0)
    synth = synth_overrides(fake_ollama.url, llamacpp_base_url=llama.url, call_timeout_seconds=300,
                            ollama_concurrency=4)
    stack = Stack(settings, overrides={"ingest": ingest_overrides(), "synth": synth}, in_process=True)
    await stack.start()
    assert stack.gateway is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.gateway.port}", timeout=900) as client:
        yield client
    await stack.stop()
    fake_ollama.stop()


async def generate(http: httpx.AsyncClient, count: int, **config: Any) -> tuple[dict[str, Any], float]:
    body = spec_body()
    body["payload"]["count"] = count
    # A looping small model would otherwise write until its context is full (1,400 tokens seen).
    body["config"] = {"provider": "llamacpp", "max_retries": 3, "max_tokens": 700, **config}
    started = time.perf_counter()
    reply = await http.post("/api/v1/synthetic-data", headers=AUTH, json=body)
    seconds = time.perf_counter() - started
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer, seconds


def report(label: str, body: dict[str, Any], seconds: float) -> None:
    metadata, usage = body["metadata"], body["usage"]
    attempts = metadata["count"] + metadata["failed_attempts"]
    print(f"\n{label}: {metadata['count']}/{metadata['requested']} records in {seconds:.1f} s "
          f"({seconds / max(1, metadata['count']):.1f} s a record), {attempts} answers, "
          f"{metadata['failed_attempts']} rejected {metadata['failures']}, "
          f"{usage['output_tokens']} tokens out ({usage['output_tokens'] / seconds:.0f}/s), "
          f"diversity {metadata['diversity']}")


async def test_the_spec_request_against_a_real_model(real_http: httpx.AsyncClient) -> None:
    body, seconds = await generate(real_http, 3)
    report("spec request, count 3", body, seconds)
    schema = spec_body()["payload"]["schema"]["items"]
    assert (body["provider"], body["model"]) == ("llamacpp", MODEL_ALIAS)
    for record in body["data"]:
        jsonschema.validate(record, schema)
    assert body["metadata"]["count"] == len(body["data"]) <= 3
    assert body["metadata"]["validation_passed"] == (len(body["data"]) == 3)
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0


async def test_variety_with_and_without_spreading(real_http: httpx.AsyncClient) -> None:
    """Ten records twice, the same seed: without spreading, then with it and personas."""
    personas = ["Aisha Okafor, a nurse on night shifts", "Tomás García, who runs a small bakery",
                "Mei Chen, a student on a tight budget", "Jonas Berg, a retired engineer",
                "Priya Sharma, who travels for work"]
    runs = {}
    for label, config in (("without", {"spread": False}), ("with", {"personas": personas})):
        body, seconds = await generate(real_http, 10, seed=42, **config)
        report(f"10 records, {label} spreading", body, seconds)
        records = body["data"]
        runs[label] = (len({r.get("issue_category") for r in records}),
                       len({str(r.get("customer_name", "")).strip().lower() for r in records}), len(records))
        for record in records:
            jsonschema.validate(record, copy.deepcopy(spec_body()["payload"]["schema"]["items"]))
    print(f"\ndistinct issue_category / customer_name / records: {runs}")
    assert all(n >= 1 for n, _, _ in runs.values())
