"""INGEST_STRICT_HIERARCHY: an Agent summary needs its Conversation too, over a real server."""

from __future__ import annotations

import grpc
import pytest

from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from services.ingest.__main__ import start as start_ingest
from tests.conftest import API_KEY, ingest_settings


def _agent(summary_id: str) -> pb.ConversationEntity:
    return pb.ConversationEntity(summary_type="Agent", media_type="Email", language="en", summary_id=summary_id,
                                 agent_id="agent-1", source_id="mail", summary="Asked about roaming.",
                                 generated=True, date_created="2025-12-23T16:00:00.000Z")


@pytest.mark.parametrize("strict", [False, True])
async def test_a_standalone_agent_is_stored_unless_the_hierarchy_is_strict(database: str, strict: bool) -> None:
    running = await start_ingest(ingest_settings(database, strict_hierarchy=strict))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            call = pb_grpc.ConversationServiceStub(channel).CreateConversations(
                pb.CreateConversationsRequest(entities=[_agent(f"email-{strict}")]), metadata=[("x-api-key", API_KEY)])
            if strict:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert refused.value.details() == "Agent and VirtualAgent summaryTypes require a conversationId"
            else:
                assert (await call).inserted == 1
    finally:
        await running.stop(0)
