"""Server reflection lists each service's API, so grpcurl works without the protos."""

from __future__ import annotations

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

SERVICES = {"ingest_channel": "parley.ingest.v1.ConversationService",
            "synth_channel": "parley.synth.v1.SyntheticDataService"}


@pytest.fixture(params=sorted(SERVICES))
def target(request: pytest.FixtureRequest) -> tuple[grpc.aio.Channel, str]:
    return request.getfixturevalue(request.param), SERVICES[request.param]


async def test_reflection_lists_the_service_without_credentials(target: tuple[grpc.aio.Channel, str]) -> None:
    channel, service = target
    call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo()
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    await call.write(reflection_pb2.ServerReflectionRequest(file_containing_symbol=service))
    await call.done_writing()
    listed, described = [reply async for reply in call]

    names = {s.name for s in listed.list_services_response.service}
    assert {service, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names
    assert described.file_descriptor_response.file_descriptor_proto
