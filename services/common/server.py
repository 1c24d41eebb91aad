"""Server bootstrap shared by both processes: health, reflection, signals, graceful stop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import grpc
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.interceptors import Authenticator, ServiceInterceptor

log = logging.getLogger("parley.server")

Registrar = Callable[[grpc.aio.Server], None]


class GrpcServer:
    """A grpc.aio server with health and reflection, started and stopped explicitly."""

    def __init__(
        self,
        *,
        service_names: Sequence[str],
        register: Registrar,
        authenticate: Authenticator,
        max_message_bytes: int,
    ) -> None:
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ]
        self.server = grpc.aio.server(interceptors=[ServiceInterceptor(authenticate)], options=options)
        self._names = list(service_names)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        register(self.server)
        reflection.enable_server_reflection(
            [*self._names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            self.server,
        )

    async def start(self, address: str) -> int:
        """Binds `address` (port 0 picks a free one), starts serving, returns the port."""
        port = self.server.add_insecure_port(address)
        await self.server.start()
        for name in ["", *self._names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving %s on port %d", ", ".join(self._names), port)
        return port

    async def stop(self, grace: float) -> None:
        """Reports NOT_SERVING first so balancers drain, then lets in-flight RPCs finish."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        log.info("stopped")


async def serve_until_signal(server: GrpcServer, grace: float, *closers: Callable[[], Awaitable[None]]) -> None:
    """The tail of every service's main: serve until SIGTERM/SIGINT, drain, release resources."""
    freeze_startup_objects()
    await wait_for_signal()
    await server.stop(grace)
    for close in closers:
        await close()


async def wait_for_signal() -> None:
    """Returns on the first SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("signal received, shutting down")


def run_service(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Runs a service's main on uvloop: asyncpg's own benchmarks are built on it, and
    here it carried single-entity ingest from about 1,450 to about 1,650 requests/s."""
    uvloop.run(main())


def freeze_startup_objects() -> None:
    """Moves everything allocated at startup (modules, descriptors, pools) out of the
    collector's reach, and collects less often: full collections over those objects
    were the largest source of tail latency under load."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # httpx logs every request to Ollama at INFO: one line per record, and measurable CPU.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
