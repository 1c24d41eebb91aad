"""Native gRPC, straight to ingest and through the gateway's single port: auth and status codes."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from tests.conftest import API_KEY, OTHER_KEY

AUTH = (("x-api-key", API_KEY),)


def entity(summary_id: str = "g-1", **overrides: object) -> pb.ConversationEntity:
    fields: dict[str, object] = {
        "summary_type": "Conversation", "media_type": "Message", "language": "pt-BR", "summary_id": summary_id,
        "source_id": "grpc-client", "summary": "Resumo", "generated": False,
        "date_created": "2025-12-23T15:30:00Z",
    }
    fields.update(overrides)
    return pb.ConversationEntity(**fields)  # type: ignore[arg-type]


@pytest.fixture(params=["direct", "gateway"])
def stub(request: pytest.FixtureRequest) -> pb_grpc.ConversationServiceStub:
    channel = request.getfixturevalue("ingest_channel" if request.param == "direct" else "gateway_channel")
    return pb_grpc.ConversationServiceStub(channel)


async def test_create_and_get_over_grpc(stub: pb_grpc.ConversationServiceStub, db: asyncpg.Connection) -> None:
    insights = struct_pb2.Value()
    insights.list_value.values.add().struct_value.update({"type": "Reason", "title": "t", "description": "d"})

    created = await stub.CreateConversations(
        pb.CreateConversationsRequest(entities=[entity(insights=insights)]), metadata=AUTH
    )
    got = await stub.GetConversation(pb.GetConversationRequest(summary_id="g-1"), metadata=AUTH)

    assert (created.success, created.inserted, created.conversations[0].summary_id) == (True, 1, "g-1")
    assert got.conversation.language == "pt-BR"
    assert got.conversation.generated is False
    assert [i.type for i in got.conversation.insights] == ["Reason"]


@pytest.mark.parametrize("metadata", [(), (("x-api-key", "wrong"),), (("x-api-key", ""),)])
async def test_unauthenticated_over_grpc(stub: pb_grpc.ConversationServiceStub, metadata: tuple) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListConversations(pb.ListConversationsRequest(), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert caught.value.details() == "Unauthorized"


async def test_every_configured_key_is_accepted(stub: pb_grpc.ConversationServiceStub, db: asyncpg.Connection) -> None:
    for key in (API_KEY, OTHER_KEY):
        reply = await stub.ListConversations(pb.ListConversationsRequest(), metadata=(("x-api-key", key),))
        assert list(reply.conversations) == []


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (pb.CreateConversationsRequest(), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.CreateConversationsRequest(entities=[entity(media_type="Fax")]), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.CreateConversationsRequest(entities=[entity(f"e-{i}") for i in range(501)]),
         grpc.StatusCode.RESOURCE_EXHAUSTED),
    ],
)
async def test_error_codes_over_grpc(
    stub: pb_grpc.ConversationServiceStub, db: asyncpg.Connection, request_: object, code: grpc.StatusCode
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateConversations(request_, metadata=AUTH)
    assert caught.value.code() == code


async def test_conflict_and_not_found_codes(stub: pb_grpc.ConversationServiceStub, db: asyncpg.Connection) -> None:
    await stub.CreateConversations(pb.CreateConversationsRequest(entities=[entity()]), metadata=AUTH)

    with pytest.raises(grpc.aio.AioRpcError) as conflict:
        await stub.CreateConversations(pb.CreateConversationsRequest(entities=[entity(summary="other")]), metadata=AUTH)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.DeleteConversation(pb.DeleteConversationRequest(summary_id="nope"), metadata=AUTH)

    assert conflict.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_health_needs_no_credentials(ingest_channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(ingest_channel)
    for service in ("", "parley.ingest.v1.ConversationService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
