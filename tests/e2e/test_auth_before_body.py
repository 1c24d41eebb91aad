"""Credentials are judged on headers alone: a refused request's body is never waited for."""

from __future__ import annotations

import asyncio
import json
import socket

import grpc
import httpx
import pytest

from gateway.envoy import Gateway
from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from tests.conftest import API_KEY, TOKEN


def _headers_only(port: int, path: str, credential: str, wait: float, framing: str) -> bytes:
    """Declares a large body (or one of unknown size), sends none of it, and returns what comes
    back within `wait`."""
    request = (f"POST {path} HTTP/1.1\r\nHost: parley\r\ncontent-type: application/json\r\n"
               f"{framing}\r\n{credential}\r\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request)
        s.settimeout(wait)
        try:
            return s.recv(65536)
        except TimeoutError:
            return b""


@pytest.mark.parametrize("framing", ["content-length: 1000000", "transfer-encoding: chunked"])
@pytest.mark.parametrize(("path", "wrong", "right"), [
    ("/api/conversations", "x-api-key: wrong\r\n", f"x-api-key: {API_KEY}\r\n"),
    ("/api/conversations", "", f"x-api-key: {API_KEY}\r\n"),
    ("/api/v1/synthetic-data", "authorization: Bearer wrong\r\n", f"authorization: Bearer {TOKEN}\r\n"),
])
async def test_a_wrong_or_missing_credential_is_refused_before_the_body(
    gateway: Gateway, path: str, wrong: str, right: str, framing: str
) -> None:
    refused = await asyncio.to_thread(_headers_only, gateway.port, path, wrong, 10, framing)
    waiting = await asyncio.to_thread(_headers_only, gateway.port, path, right, 0.5, framing)

    head, _, body = refused.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 Unauthorized"), refused
    assert json.loads(body) == {"error": "Unauthorized"}
    assert waiting == b""  # an accepted credential waits for the body it declared


async def test_a_small_body_without_credentials_is_refused_by_the_service_unparsed(http: httpx.AsyncClient) -> None:
    # Below 64 KiB the gateway does not ask first (asking costs what forwarding does); the
    # service refuses the call before deserializing it, with the same answer.
    body = {"entities": [{"summaryType": "Conversation", "summary": "x" * 1000, "insights": [{"a": [1] * 50}]}]}
    response = await http.post("/api/conversations", json=body)
    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})


async def test_native_grpc_over_the_message_bound_is_refused(gateway_channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.ConversationServiceStub(gateway_channel)
    big = pb.CreateConversationsRequest(entities=[pb.ConversationEntity(summary="x" * (1024 * 1024))])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateConversations(big, metadata=(("x-api-key", API_KEY),))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
