"""`make run`: PostgreSQL under .data/, the services and Envoy, stopped together on Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.envoy import Gateway
from services.common.localpg import LocalPostgres
from services.common.server import configure_logging

log = logging.getLogger("parley.devstack")
ROOT = Path(__file__).resolve().parents[2]


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    gateway_port: int = 8080
    gateway_admin_port: int = 9901
    gateway_workers: int = 1
    data_dir: Path = Field(ROOT / ".data", validation_alias="PARLEY_DATA_DIR")
    pg_port: int = Field(54329, validation_alias="PARLEY_PG_PORT")
    database_url: str = ""
    ingest_listen: str = "127.0.0.1:50051"
    synth_listen: str = "127.0.0.1:50052"
    ingest_api_keys: str = ""
    synth_api_tokens: str = ""


def credentials(settings: StackSettings) -> dict[str, str]:
    """Development credentials: from the environment, else made once and kept under .data/."""
    path = settings.data_dir / "dev-credentials.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored.setdefault("ingest_api_key", "dev-" + secrets.token_urlsafe(18))
    stored.setdefault("synth_token", "dev-" + secrets.token_urlsafe(18))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=2))
    path.chmod(0o600)
    return {
        "INGEST_API_KEYS": settings.ingest_api_keys or stored["ingest_api_key"],
        "SYNTH_API_TOKENS": settings.synth_api_tokens or stored["synth_token"],
    }


def wait_healthy(address: str, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{address}: the service exited with {process.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"{address}: not healthy after {timeout:.0f}s")


def start_service(module: str, listen: str, env: dict[str, str], out: IO[str]) -> subprocess.Popen[bytes]:
    # Own session: Ctrl-C reaches only this launcher, which stops the children in order.
    process = subprocess.Popen(
        [sys.executable, "-m", module], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    wait_healthy(listen, process)
    return process


def banner(port: int, creds: dict[str, str]) -> str:
    key = creds["INGEST_API_KEYS"].split(",")[0]
    token = creds["SYNTH_API_TOKENS"].split(",")[0]
    return (
        f"\nParley is up at http://127.0.0.1:{port} (REST and native gRPC)\n"
        f"  ingest x-api-key:    {key}\n"
        f"  synth bearer token:  {token}\n"
        f"  try: curl -s http://127.0.0.1:{port}/api/conversations -H 'x-api-key: {key}'\n"
        f"  synth needs Ollama at {os.environ.get('OLLAMA_HOST', 'http://127.0.0.1:11434')} (OLLAMA_HOST)\n"
        "Ctrl-C stops everything; data stays in .data/ for the next run.\n"
    )


def run(settings: StackSettings) -> None:
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    creds = credentials(settings)
    postgres = None
    env = {**os.environ, **creds}
    if not settings.database_url:
        postgres = LocalPostgres(settings.data_dir / "postgres", settings.pg_port)
        postgres.start()
        env["DATABASE_URL"] = postgres.dsn
    env.update(INGEST_LISTEN=settings.ingest_listen, SYNTH_LISTEN=settings.synth_listen)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    gateway = None
    try:
        for module, listen in stack_services(settings):
            out = open(logs / f"{module.split('.')[-1]}.log", "a")  # noqa: SIM115 (lives as long as the child)
            children.append(start_service(module, listen, env, out))
        gateway = Gateway(
            settings.data_dir / "gateway",
            ingest_port=int(settings.ingest_listen.rsplit(":", 1)[1]),
            synth_port=int(settings.synth_listen.rsplit(":", 1)[1]),
            listen_port=settings.gateway_port,
            admin_port=settings.gateway_admin_port,
            workers=settings.gateway_workers,
            log=open(logs / "gateway.log", "a"),  # noqa: SIM115
        )
        gateway.start()
        print(banner(gateway.port, creds), flush=True)
        log.info("logs in %s", logs)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        if not stopping:
            log.error("a service exited unexpectedly; stopping the stack (see %s)", logs)
    finally:
        log.info("stopping")
        if gateway:
            gateway.stop()
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
        for child in reversed(children):
            child.wait(30)
        if postgres:
            postgres.stop()
        log.info("stopped")


def stack_services(settings: StackSettings) -> list[tuple[str, str]]:
    """The service processes `make run` starts, in start order, with where each listens."""
    return [("services.ingest", settings.ingest_listen), ("services.synth", settings.synth_listen)]


if __name__ == "__main__":
    configure_logging("INFO")
    run(StackSettings())
