"""Closed-loop load drivers: raw HTTP/1.1 through the gateway, native gRPC, and plain asyncpg."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
import grpc

from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from services.ingest.model import Batch
from services.ingest.storage import INSERT_SQL, insert_columns

_ids = itertools.count()
_WHEN = datetime(2025, 12, 23, 15, 30, tzinfo=UTC)


def entities(count: int, run: str) -> list[dict[str, Any]]:
    """`count` fresh Conversation summaries shaped like the spec's first example."""
    return [
        {
            "summaryType": "Conversation", "mediaType": "Call", "language": "es",
            "summaryId": f"bench-{run}-{next(_ids)}", "sourceId": "genesys-flow-main",
            "summary": "Cliente contactó para consultar sobre el paquete y opciones de mejora de servicio. " * 3,
            "generated": True, "dateCreated": "2025-12-23T15:30:00.000Z",
            "insights": [
                {"type": "Reason", "title": "Información del paquete", "description": "Detalles del paquete."},
                {"type": "Resolution", "title": "Upgrade", "description": "Se procesó.", "outcome": "Resuelto"},
            ],
        }
        for _ in range(count)
    ]


@dataclass
class Result:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0


async def drive(worker: Callable[[], Awaitable[bool]], concurrency: int, seconds: float) -> Result:
    """Runs `concurrency` loops of `worker` for `seconds`, one request in flight per loop."""
    result = Result()
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            ok = await worker()
            result.latencies.append(time.perf_counter() - start)
            result.requests += 1
            result.errors += not ok

    begin = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - begin
    return result


class RestClient:
    """One keep-alive HTTP/1.1 connection; lean enough that the client is not the bottleneck."""

    def __init__(self, port: int, api_key: str) -> None:
        self._port = port
        self._head = f"POST /api/conversations HTTP/1.1\r\nhost: bench\r\nx-api-key: {api_key}\r\n"
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> bool:
        """True for a 200; any other answer or a closed connection counts as an error."""
        if self._conn is None:
            self._conn = await asyncio.open_connection("127.0.0.1", self._port)
        reader, writer = self._conn
        try:
            writer.write(
                f"{self._head}content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError):
            writer.close()
            self._conn = None
            return False
        if b"connection: close" in head.lower():
            writer.close()
            self._conn = None
        return head.startswith(b"HTTP/1.1 200")


def rest_worker(port: int, api_key: str, batch: int, run: str) -> Callable[[], Awaitable[bool]]:
    clients: list[RestClient] = []

    async def worker() -> bool:
        client = clients.pop() if clients else RestClient(port, api_key)
        try:
            return await client.post(json.dumps({"entities": entities(batch, run)}).encode())
        finally:
            clients.append(client)

    return worker


def grpc_worker(channel: grpc.aio.Channel, api_key: str, batch: int, run: str) -> Callable[[], Awaitable[bool]]:
    stub = pb_grpc.ConversationServiceStub(channel)
    metadata = (("x-api-key", api_key),)
    # Built once and copied with fresh ids, so the load generator is not the bottleneck.
    template = pb.CreateConversationsRequest()
    for raw in entities(batch, run):
        insights = raw.pop("insights")
        template.entities.add(**_snake(raw)).insights.list_value.extend(insights)

    async def worker() -> bool:
        request = pb.CreateConversationsRequest()
        request.CopyFrom(template)
        for entity in request.entities:
            entity.summary_id = f"bench-{run}-{next(_ids)}"
        try:
            await stub.CreateConversations(request, metadata=metadata)
            return True
        except grpc.aio.AioRpcError:
            return False

    return worker


def asyncpg_worker(pool: asyncpg.Pool, batch: int, run: str) -> Callable[[], Awaitable[bool]]:
    """The ceiling: the same rows, the same single statement, no gateway, no gRPC, no validation."""

    async def worker() -> bool:
        rows = [_plain(raw) for raw in entities(batch, run)]
        args = insert_columns(Batch(rows, [b"x"] * len(rows), {}), {})  # type: ignore[arg-type]  # duck-typed rows
        async with pool.acquire() as conn:
            if batch == 1:  # one statement is atomic by itself, as the service does it
                await conn.fetch(INSERT_SQL, *args)
            else:
                async with conn.transaction():
                    await conn.fetch(INSERT_SQL, *args)
        return True

    return worker


def _plain(raw: dict[str, Any]) -> SimpleNamespace:
    """A row as plain attributes, with none of the service's parsing or validation."""
    fields = _snake(raw)
    fields.update(
        agent_id=None, conversation_id=None, date_created=_WHEN,
        insights=[SimpleNamespace(**{"outcome": None, **i}) for i in raw["insights"]],
    )
    return SimpleNamespace(**fields)


def _snake(raw: dict[str, Any]) -> dict[str, Any]:
    return {"".join(f"_{c.lower()}" if c.isupper() else c for c in k): v for k, v in raw.items()}
