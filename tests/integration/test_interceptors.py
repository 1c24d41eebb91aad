"""Each interceptor alone, then both composed, against a small grpc.aio server with raw-bytes methods."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from services.common.errors import NotFound
from services.common.guard import Guard
from services.common.interceptors import AuthInterceptor, StatusInterceptor
from services.common.keys import INGEST_FORMS, KeyStore, Principal
from services.common.ratelimit import RateLimiter

KEY = (("x-api-key", "k"),)


def guard() -> Guard:
    """Key "k" may call everything on test.Small."""
    keys = KeyStore([("k", Principal("tester", frozenset({"all"})))], None)
    scopes = {f"/test.Small/{m}": "all" for m in ("Echo", "Missing", "Broken", "Endless")}
    return Guard(keys, scopes, RateLimiter(0, 1), INGEST_FORMS)


@dataclass
class Calls:
    parsed: int = 0
    ran: list[str] = field(default_factory=list)
    stream_closed: asyncio.Event = field(default_factory=asyncio.Event)


def handlers(calls: Calls) -> grpc.GenericRpcHandler:
    def parse(data: bytes) -> bytes:
        calls.parsed += 1
        return data

    async def echo(request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
        calls.ran.append("echo")
        return request

    async def missing(_request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
        raise NotFound("no such thing")

    async def broken(_request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
        raise KeyError("internal detail")

    async def endless(_request: bytes, _context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        try:
            while True:  # as fast as the transport takes them: the close meets a pending write
                yield b"x"
        finally:
            calls.stream_closed.set()

    unary = {name: grpc.unary_unary_rpc_method_handler(fn, parse, bytes)
             for name, fn in (("Echo", echo), ("Missing", missing), ("Broken", broken))}
    return grpc.method_handlers_generic_handler(
        "test.Small", {**unary, "Endless": grpc.unary_stream_rpc_method_handler(endless, parse, bytes)})


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    servers: list[grpc.aio.Server] = []

    async def start(interceptors: Sequence[grpc.aio.ServerInterceptor]) -> tuple[grpc.aio.Channel, Calls]:
        calls = Calls()
        server = grpc.aio.server(interceptors=interceptors)
        server.add_generic_rpc_handlers((handlers(calls),))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        return grpc.aio.insecure_channel(f"127.0.0.1:{port}"), calls

    yield start
    for server in servers:
        await server.stop(0)


async def test_auth_refuses_before_the_request_is_parsed(serve: Any) -> None:
    channel, calls = await serve([AuthInterceptor(guard())])
    echo = channel.unary_unary("/test.Small/Echo")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await echo(b"hi", metadata=(("x-api-key", "wrong"),))
    stream = channel.unary_stream("/test.Small/Endless")
    with pytest.raises(grpc.aio.AioRpcError) as refused_stream:
        async for _ in stream(b"", metadata=()):
            pass
    answered = await echo(b"hi", metadata=KEY)

    assert (refused.value.code(), refused.value.details()) == (grpc.StatusCode.UNAUTHENTICATED, "Unauthorized")
    assert refused_stream.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert answered == b"hi"
    assert (calls.parsed, calls.ran) == (1, ["echo"])  # only the authenticated call was parsed and ran


async def test_status_maps_domain_errors_and_hides_unexpected_ones(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    channel, _ = await serve([StatusInterceptor()])
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await channel.unary_unary("/test.Small/Missing")(b"")
    with pytest.raises(grpc.aio.AioRpcError) as broken:
        await channel.unary_unary("/test.Small/Broken")(b"")

    assert (missing.value.code(), missing.value.details()) == (grpc.StatusCode.NOT_FOUND, "no such thing")
    assert (broken.value.code(), broken.value.details()) == (grpc.StatusCode.INTERNAL, "Internal error")
    assert "internal detail" not in (broken.value.debug_error_string() or "")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "Broken" in errors[0].getMessage()


async def test_a_stream_closed_early_by_the_client_is_a_normal_end(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    channel, calls = await serve([StatusInterceptor()])
    caplog.set_level(logging.INFO, logger="parley.rpc")
    call = channel.unary_stream("/test.Small/Endless")(b"")
    assert await call.read() == b"x"
    call.cancel()
    await asyncio.wait_for(calls.stream_closed.wait(), 5)  # the handler's generator was closed

    await asyncio.sleep(0.1)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("Endless code=CANCELLED" in r.getMessage() for r in caplog.records)


async def test_composed_the_refusal_is_logged_once_with_its_code(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    channel, _ = await serve([StatusInterceptor(), AuthInterceptor(guard())])
    caplog.set_level(logging.INFO, logger="parley.rpc")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await channel.unary_unary("/test.Small/Missing")(b"", metadata=())
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await channel.unary_unary("/test.Small/Missing")(b"", metadata=KEY)

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    lines = [r.getMessage() for r in caplog.records if r.name == "parley.rpc"]
    assert [line.split(" ")[1] for line in lines] == ["code=UNAUTHENTICATED", "code=NOT_FOUND"]
