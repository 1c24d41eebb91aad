"""Server bootstrap shared by both processes: health, reflection, signals, graceful stop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common import authz, metrics
from services.common.guard import Guard
from services.common.interceptors import AuthInterceptor, StatusInterceptor
from services.common.startup import StartupError

log = logging.getLogger("parley.server")

Registrar = Callable[[grpc.aio.Server], None]
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class GrpcServer:
    """A grpc.aio server with health and reflection, started and stopped explicitly."""

    def __init__(
        self,
        *,
        service_names: Sequence[str],
        # Services this server's reflection also describes (answered by another process
        # behind the same gateway), so one reflection call there lists the whole API.
        also_described: Sequence[str] = (),
        register: Registrar,
        guard: Guard,
        max_message_bytes: int,
        max_concurrent_rpcs: int | None = None,
    ) -> None:
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
            # Twice what the gateway lets through (URL and headers, 8 KiB), so a request the
            # gateway accepts is never refused here for its metadata (gRPC's default is 8 KiB).
            ("grpc.max_metadata_size", 16 * 1024),
            ("grpc.absolute_max_metadata_size", 16 * 1024),
        ]
        interceptors = [StatusInterceptor(), AuthInterceptor(guard)]
        # Beyond max_concurrent_rpcs gRPC refuses a call before reading its message
        # (RESOURCE_EXHAUSTED; the gateway answers 503 with Retry-After): memory stays flat.
        self.server = grpc.aio.server(
            interceptors=interceptors, options=options, maximum_concurrent_rpcs=max_concurrent_rpcs)
        self._names = list(service_names)
        self._background: list[asyncio.Task[None]] = []
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        register(self.server)
        authz.register(self.server, guard)
        reflection.enable_server_reflection(
            [*self._names, *also_described, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME],
            self.server,
        )

    async def start(self, address: str, setting: str = "listen address") -> int:
        """Binds `address` (port 0 picks a free one), starts serving, returns the port."""
        try:
            port = self.server.add_insecure_port(address)
        except RuntimeError:
            raise StartupError(
                f"cannot listen on {address} ({setting}): the port is in use or the address is not this "
                "machine's; stop what uses it or set another") from None
        await self.server.start()
        for name in ["", *self._names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving %s on port %d", ", ".join(self._names), port)
        return port

    def watch_readiness(self, check: Callable[[], Awaitable[bool]], interval: float) -> None:
        """Keeps the services' health (readiness) in step with `check`, e.g. "the database
        answers"; the overall health "" (liveness) stays SERVING, so a restart is not asked for."""

        async def watch() -> None:
            serving = True
            while True:
                await asyncio.sleep(interval)
                now = await check()
                if now != serving:
                    serving = now
                    log.warning("readiness: %s", "SERVING again" if now else "NOT_SERVING (a dependency is down)")
                    status = _SERVING if now else _NOT_SERVING
                    for name in self._names:
                        await self.health.set(name, status)

        self.keep_running(watch())

    def keep_running(self, work: Coroutine[Any, Any, None]) -> None:
        """Background work that lives as long as the server (cancelled at stop)."""
        self._background.append(asyncio.create_task(work))

    async def stop(self, grace: float) -> None:
        """Reports NOT_SERVING first so balancers drain, then lets in-flight RPCs finish."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        log.info("stopped")


Closer = Callable[[], Awaitable[None]]


@dataclass
class Running:
    """A started service: its server, its port, and what to release after the server stops."""

    server: GrpcServer
    port: int
    closers: list[Closer] = field(default_factory=list)
    metrics_port: int = 0

    async def stop(self, grace: float) -> None:
        await self.server.stop(grace)
        for close in self.closers:
            await close()


async def start_or_close(server: GrpcServer, address: str, closers: list[Closer],
                         setting: str = "listen address", metrics_address: str = "") -> Running:
    """Starts `server` (and /metrics on `metrics_address`, if given); if it cannot start
    (a busy port), releases `closers` before raising."""
    try:
        metrics_port = metrics.serve(metrics_address, setting.replace("LISTEN", "METRICS_LISTEN")) \
            if metrics_address else 0
        port = await server.start(address, setting)
    except BaseException:
        for close in closers:
            await close()
        raise
    return Running(server, port, closers, metrics_port)


async def serve_until_signal(running: Running, grace: float) -> None:
    """The tail of every service's main: serve until SIGTERM/SIGINT, drain, release resources."""
    await wait_for_signal()
    await running.stop(grace)


async def wait_for_signal() -> None:
    """Returns on the first SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("signal received, shutting down")


def freeze_startup_objects() -> None:
    """Moves everything allocated at startup (modules, descriptors, pools) out of the
    collector's reach: full collections over those objects were the largest source of
    tail latency under load.

    The youngest generation stays small. grpc.aio leaves about ten objects in a reference
    cycle for every RPC (the method-lookup closure with the call's details and metadata),
    which only the collector frees: with 50,000 young objects allowed, each collection freed
    the cycles of some 4,500 RPCs at once and stopped the event loop for 80 to 120 ms, the
    slowest 1% of a list query at two connections. With 1,000 the same work comes in
    pauses of a few milliseconds (README, "Benchmarks")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(1_000, 20, 100)
