"""The one definition of Parley's stack: what runs, with which settings, in which order.

`make run`, the test session and `make bench` all start it through `Stack`:
PostgreSQL (embedded under the data folder unless a DATABASE_URL is given), then
the services, then Envoy; stopped in the reverse order. Services run as child
processes (`make run`, bench) or inside the caller's event loop (tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.envoy import Gateway
from services.common.localpg import LocalPostgres
from services.common.server import Running
from services.common.settings import ServerSettings
from services.common.startup import load_settings
from services.stack.settings import StackSettings, gateway_limits, settings_env

log = logging.getLogger("parley.stack")

# How long a service process may take to answer its health check as SERVING.
_START_SECONDS = 90.0


@dataclass(frozen=True)
class ServiceDef:
    name: str
    module: str  # `python -m <module>` runs it; `<module>.__main__.start(settings)` starts it in-process
    settings_class: str  # "module:Class"

    def settings(self, **values: Any) -> ServerSettings:
        module, _, name = self.settings_class.partition(":")
        cls: type[ServerSettings] = getattr(importlib.import_module(module), name)
        return load_settings(cls, **values)


# In start order; stopped in reverse.
SERVICES = (
    ServiceDef("ingest", "services.ingest", "services.ingest.settings:IngestSettings"),
    ServiceDef("synth", "services.synth", "services.synth.settings:SynthSettings"),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _Child:
    """A service process, or a service running in this event loop."""

    definition: ServiceDef
    settings: ServerSettings
    process: subprocess.Popen[bytes] | None = None
    running: Running | None = None
    port: int = 0
    log_path: Path | None = None


@dataclass
class Stack:
    settings: StackSettings
    # Per service name: settings given as values, over what the environment says.
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    services: tuple[str, ...] = ("ingest", "synth")
    with_gateway: bool = True
    in_process: bool = False
    # False for throwaway clusters (tests): no fsync, as PostgreSQL's own test suites run.
    durable: bool = True
    postgres: LocalPostgres | None = None
    gateway: Gateway | None = None
    children: list[_Child] = field(default_factory=list)
    database_url: str = ""

    def port(self, service: str) -> int:
        return next(c.port for c in self.children if c.definition.name == service)

    @property
    def logs(self) -> Path:
        return self.settings.data_dir / "logs"

    async def start(self) -> None:
        """Starts everything in order; on any failure, stops what had started and raises."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self.database_url = self.settings.database_url
        if not self.database_url:
            self.postgres = LocalPostgres(self.settings.data_dir / "postgres", self.settings.pg_port,
                                          durable=self.durable)
            await asyncio.to_thread(self.postgres.start)
            self.database_url = self.postgres.dsn
        self.children = [self._child(d) for d in SERVICES if d.name in self.services]
        # Processes start together (each spends most of a second importing), then are awaited in order.
        for child in self.children:
            await self._launch(child)
        for child in self.children:
            await self._ready(child)
        if self.with_gateway:
            self.gateway = self._gateway()
            await asyncio.to_thread(self.gateway.start)

    def _child(self, definition: ServiceDef) -> _Child:
        # Ingest stores summaries there; both read API keys from it.
        values: dict[str, Any] = {"database_url": self.database_url}
        values.update(self.overrides.get(definition.name, {}))
        settings = definition.settings(**values)
        if not self.in_process and settings.listen.endswith(":0"):
            # A child's port must be known before it starts, to wait for it and to route to it.
            settings = settings.model_copy(update={"listen": f"{settings.listen[:-2]}:{free_port()}"})
        return _Child(definition, settings)

    async def _launch(self, child: _Child) -> None:
        if self.in_process:
            start = importlib.import_module(f"{child.definition.module}.__main__").start
            child.running = await start(child.settings)
            child.port = child.running.port
            return
        child.log_path = self.logs / f"{child.definition.name}.log"
        child.port = int(child.settings.listen.rsplit(":", 1)[1])
        child.process = _spawn(child.definition.module, settings_env(child.settings), child.log_path)

    async def _ready(self, child: _Child) -> None:
        if child.process is None:
            return
        name = child.definition.name
        async with asyncio.timeout(_START_SECONDS), grpc.aio.insecure_channel(f"127.0.0.1:{child.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                if child.process.poll() is not None:
                    raise RuntimeError(f"{_last_line(child.log_path) or f'{name} exited while starting'} "
                                       f"(log: {child.log_path})")
                with contextlib.suppress(grpc.RpcError):
                    reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                await asyncio.sleep(0.1)

    def _gateway(self) -> Gateway:
        ports = {c.definition.name: c.port for c in self.children}
        self.logs.mkdir(parents=True, exist_ok=True)
        log_file: IO[str] = open(self.logs / "gateway.log", "a")  # noqa: SIM115 (closed by Gateway.stop)
        return Gateway(
            self.settings.data_dir / "gateway",
            # A service left out of the stack gets a port nobody listens on: its routes answer 503.
            ingest_port=ports.get("ingest") or free_port(),
            synth_port=ports.get("synth") or free_port(),
            listen_port=self.settings.gateway_port,
            admin_port=self.settings.gateway_admin_port,
            workers=self.settings.gateway_workers,
            log=log_file,
            limits=gateway_limits(self.settings),
        )

    def exited(self) -> list[str]:
        """Names of the parts that have stopped on their own (processes only)."""
        gone = [c.definition.name for c in self.children if c.process and c.process.poll() is not None]
        if self.gateway and not self.gateway.alive():
            gone.append("gateway")
        return gone

    async def stop(self, grace: float = 5.0) -> None:
        """Stops the gateway, the services (newest first), then PostgreSQL; safe to call twice."""
        if self.gateway:
            await asyncio.to_thread(self.gateway.stop)
            self.gateway = None
        for child in reversed(self.children):
            if child.running:
                await child.running.stop(0)
            elif child.process and child.process.poll() is None:
                child.process.terminate()
        for child in reversed(self.children):
            if child.process:
                await asyncio.to_thread(_reap, child.process, grace + 25)
        self.children = []
        if self.postgres:
            await asyncio.to_thread(self.postgres.stop)
            self.postgres = None


def _last_line(path: Path | None) -> str:
    """The last line a child wrote: a service that cannot start says why there, in one line."""
    if path is None or not path.exists():
        return ""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _spawn(module: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        # Own session: Ctrl-C reaches only the launcher, which stops the children in order.
        return subprocess.Popen([sys.executable, "-m", module], env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _reap(process: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
