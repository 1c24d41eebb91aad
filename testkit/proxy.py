"""A TCP proxy that can cut every connection and refuse new ones, or stall them: a database
outage without stopping the database (asyncpg's own suite simulates outages the same way)."""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._stalled = asyncio.Event()
        self._stalled.set()  # set: bytes flow
        self.port = 0

    async def start(self) -> TcpProxy:
        """Listens (again) on the same port, forwarding each connection to the target."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stall(self) -> None:
        """Keeps every connection open but lets no byte through: a server that hangs."""
        self._stalled.clear()

    def resume(self) -> None:
        self._stalled.set()

    async def cut(self) -> None:
        """Closes every open connection and stops listening: clients see the server gone."""
        if self._server:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            self._pipes.discard(task)
            return
        try:
            await asyncio.gather(_pump(reader, upstream_writer, self._stalled),
                                 _pump(upstream_reader, writer, self._stalled))
        finally:
            for w in (writer, upstream_writer):
                w.close()
            self._pipes.discard(task)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            await flowing.wait()
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()
