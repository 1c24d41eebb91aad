"""Generation behaviour over native gRPC, with the fake Ollama told how to misbehave.

A second synth server makes one call at a time, so a queued sequence of
behaviours meets the calls in a known order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from parley.synth.v1 import synth_service_pb2 as pb
from parley.synth.v1 import synth_service_pb2_grpc as pb_grpc
from services.stack.stack import free_port
from services.synth.__main__ import start as start_synth
from testkit.fakes.ollama import FakeOllama
from tests.conftest import TOKEN, synth_settings

AUTH = (("authorization", f"Bearer {TOKEN}"),)
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string", "format": "email"},
                                           "age": {"type": "integer", "minimum": 18, "maximum": 99}},
          "required": ["name", "email", "age"]}


@pytest.fixture(scope="module")
async def serial(fake_ollama: FakeOllama) -> AsyncIterator[pb_grpc.SyntheticDataServiceStub]:
    running = await start_synth(synth_settings(fake_ollama.url, ollama_concurrency=1))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield pb_grpc.SyntheticDataServiceStub(channel)
    await running.stop(0)


@pytest.fixture
def parallel(synth_channel: grpc.aio.Channel) -> pb_grpc.SyntheticDataServiceStub:
    return pb_grpc.SyntheticDataServiceStub(synth_channel)


def make(count: int = 1, schema: dict[str, Any] | None = PERSON, **config: Any) -> pb.GenerateSyntheticDataRequest:
    request = pb.GenerateSyntheticDataRequest(payload=pb.Payload(prompt="A customer profile", count=count),
                                              config=pb.GenerationConfig(**config))
    if schema is not None:
        request.payload.schema.update(schema)
    return request


def records(reply: pb.GenerateSyntheticDataResponse) -> list[Any]:
    return [json.loads(json.dumps(dict(v.struct_value))) for v in reply.data]


async def test_retries_recover_from_every_kind_of_bad_answer(
    serial: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama
) -> None:
    ollama.reset("malformed", "invalid", "truncated", "huge_number", "nan", "valid")

    reply = await serial.GenerateSyntheticData(make(max_retries=5), metadata=AUTH)

    assert (reply.metadata.count, reply.metadata.validation_passed, reply.metadata.failed_attempts) == (1, True, 5)
    assert dict(reply.metadata.failures) == {"not_json": 1, "schema": 1, "truncated": 1, "unrepresentable": 2}
    assert len(ollama.calls) == 6
    feedback = [call["messages"][-1]["content"] for call in ollama.calls[1:]]
    assert "not a single valid JSON value" in feedback[0]
    assert "does not follow the schema: 'name' is a required property" in feedback[1]
    assert "cut off at the model's length limit" in feedback[2]
    assert "is too large to be finite" in feedback[3]
    assert "NaN, which JSON cannot carry" in feedback[4]
    assert ollama.calls[1]["messages"][-2]["role"] == "assistant"  # the rejected answer is in the conversation


async def test_a_record_in_a_fence_or_in_prose_is_taken_out(
    serial: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama
) -> None:
    ollama.reset("prose", "fence")

    reply = await serial.GenerateSyntheticData(make(count=2, max_retries=0), metadata=AUTH)

    assert (reply.metadata.count, reply.metadata.failed_attempts, len(ollama.calls)) == (2, 0, 2)
    assert all(isinstance(r["name"], str) for r in records(reply))


async def test_retries_give_up_honestly(serial: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama) -> None:
    ollama.reset("valid", "invalid", "invalid")

    reply = await serial.GenerateSyntheticData(make(count=2, max_retries=1), metadata=AUTH)

    assert len(reply.data) == 1
    assert reply.metadata.count == 1
    assert reply.metadata.requested == 2
    assert reply.metadata.validation_passed is False
    assert reply.metadata.failed_attempts == 2
    assert reply.usage.total_tokens == reply.usage.input_tokens + reply.usage.output_tokens > 0


async def test_duplicates_are_refused_and_asked_again(
    serial: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama
) -> None:
    ollama.reset("valid", "duplicate", "valid")

    reply = await serial.GenerateSyntheticData(make(count=2), metadata=AUTH)

    got = records(reply)
    assert len(got) == 2 and got[0] != got[1]
    assert reply.metadata.failed_attempts == 1
    assert "repeats a record already generated" in ollama.calls[2]["messages"][-1]["content"]


async def test_missing_usage_counts_count_as_zero(
    serial: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama
) -> None:
    ollama.reset("no_usage")
    reply = await serial.GenerateSyntheticData(make(), metadata=AUTH)
    assert (reply.metadata.count, reply.usage.input_tokens, reply.usage.output_tokens) == (1, 0, 0)


async def test_a_seed_reproduces_the_run(parallel: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama) -> None:
    first = await parallel.GenerateSyntheticData(make(count=6, seed=42), metadata=AUTH)
    seeds = [call["options"]["seed"] for call in ollama.calls]
    again = await parallel.GenerateSyntheticData(make(count=6, seed=42), metadata=AUTH)
    other = await parallel.GenerateSyntheticData(make(count=6, seed=7), metadata=AUTH)

    assert records(first) == records(again)
    assert records(first) != records(other)
    assert len(set(seeds)) == 6  # every record gets its own seed


async def test_temperature_and_seed_are_forwarded(serial: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama) -> None:
    await serial.GenerateSyntheticData(make(temperature=0.2, seed=1), metadata=AUTH)
    assert ollama.calls[0]["options"]["temperature"] == 0.2
    assert isinstance(ollama.calls[0]["options"]["seed"], int)


async def test_no_schema_means_free_form_objects(serial: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama) -> None:
    reply = await serial.GenerateSyntheticData(make(count=2, schema=None), metadata=AUTH)

    assert ollama.calls[0]["format"] == "json"
    assert reply.metadata.validation_passed is True
    assert reply.metadata.schema_draft == ""
    assert all(isinstance(r, dict) for r in records(reply))


async def test_array_items_may_refer_to_root_definitions(
    serial: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama
) -> None:
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array",
              "items": {"$ref": "#/definitions/person"}, "definitions": {"person": PERSON}}

    reply = await serial.GenerateSyntheticData(make(count=2, schema=schema), metadata=AUTH)

    assert reply.metadata.validation_passed is True
    assert reply.metadata.schema_draft == "draft-07"
    assert all(set(r) == {"name", "email", "age"} for r in records(reply))


async def test_calls_in_flight_never_exceed_the_concurrency_setting(
    parallel: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama
) -> None:
    ollama.tokens_per_second = 500.0  # each call takes ~0.1 s, so calls are sure to overlap
    try:
        await asyncio.gather(*(parallel.GenerateSyntheticData(make(count=8), metadata=AUTH) for _ in range(3)))
    finally:
        ollama.tokens_per_second = None
    assert 1 < ollama.max_in_flight <= 4


async def test_cancelling_the_request_cancels_the_calls_to_ollama(
    parallel: pb_grpc.SyntheticDataServiceStub, ollama: FakeOllama
) -> None:
    ollama.reset("slow", "slow", "slow")
    ollama.slow_seconds = 0.9  # under the call timeout: only the cancellation ends these calls
    try:
        call = parallel.GenerateSyntheticData(make(count=3), metadata=AUTH)
        await asyncio.sleep(0.3)
        call.cancel()
        for _ in range(40):
            if ollama.cancelled == 3:
                break
            await asyncio.sleep(0.05)
    finally:
        ollama.slow_seconds = 2.0
    assert ollama.cancelled == 3


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer wrong"),)])
async def test_grpc_needs_a_bearer_token(parallel: pb_grpc.SyntheticDataServiceStub, metadata: tuple) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await parallel.GenerateSyntheticData(make(), metadata=metadata)
    assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.UNAUTHENTICATED, "Unauthorized")


async def test_grpc_through_the_gateway(gateway_channel: grpc.aio.Channel, ollama: FakeOllama) -> None:
    stub = pb_grpc.SyntheticDataServiceStub(gateway_channel)
    reply = await stub.GenerateSyntheticData(make(count=2), metadata=AUTH)
    assert reply.metadata.count == 2
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GenerateSyntheticData(make(), metadata=())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unreachable_ollama_is_unavailable_naming_the_host() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    running = await start_synth(synth_settings(dead))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await pb_grpc.SyntheticDataServiceStub(channel).GenerateSyntheticData(make(), metadata=AUTH)
    finally:
        await running.stop(0)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert caught.value.details() == f"Ollama is unreachable at {dead}"
