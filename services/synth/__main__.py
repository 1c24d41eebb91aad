"""Runs the synth service: provider, engine, gRPC server, graceful shutdown."""

from __future__ import annotations

import logging

import asyncpg

from parley.synth.v1 import synth_service_pb2 as pb
from parley.synth.v1 import synth_service_pb2_grpc as pb_grpc
from services.common.guard import Guard
from services.common.keys import SYNTH_FORMS, KeyStore, bootstrap_keys
from services.common.logs import configure_logging
from services.common.ratelimit import RateLimiter
from services.common.server import (
    Closer,
    GrpcServer,
    Running,
    freeze_startup_objects,
    serve_until_signal,
    start_or_close,
)
from services.common.startup import load_settings, run_service
from services.synth.engine import Engine
from services.synth.providers import catalog
from services.synth.providers.ollama import public_host
from services.synth.servicer import SyntheticDataServicer
from services.synth.settings import SynthSettings

log = logging.getLogger("parley.synth")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SyntheticDataService"].full_name
SCOPES = {f"/{SERVICE_NAME}/GenerateSyntheticData": "synth:generate",
          f"/{SERVICE_NAME}/StreamSyntheticData": "synth:generate",
          f"/{SERVICE_NAME}/ListModels": "synth:generate"}


async def key_store(settings: SynthSettings) -> tuple[KeyStore, list[Closer]]:
    """SYNTH_API_TOKENS, and the keys in PostgreSQL when DATABASE_URL is set."""
    pool = None
    if settings.database_url:
        pool = await asyncpg.create_pool(settings.database_url, min_size=0, max_size=2, timeout=5)
    bootstrap = bootstrap_keys(settings.api_token_list, "bootstrap-synth", ("synth:generate",))
    return KeyStore(bootstrap, pool, settings.key_cache_seconds), [pool.close] if pool else []


async def start(settings: SynthSettings) -> Running:
    """Starts serving; the providers' clients are closed again if serving fails."""
    providers = catalog.providers(settings)
    engine = Engine(providers, settings.ollama_concurrency)
    servicer = SyntheticDataServicer(engine, settings)
    keys, closers = await key_store(settings)
    server = GrpcServer(
        service_names=[SERVICE_NAME],
        register=lambda s: pb_grpc.add_SyntheticDataServiceServicer_to_server(servicer, s),
        guard=Guard(keys, SCOPES, RateLimiter(settings.key_rate_per_second, settings.key_rate_burst), SYNTH_FORMS),
        max_message_bytes=settings.max_request_bytes,
        max_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    running = await start_or_close(server, settings.listen, setting="SYNTH_LISTEN",
                                   closers=[*(p.close for p in providers.values()), *closers],
                                   metrics_address=settings.metrics_listen)
    # Ready while the default provider answers; liveness does not follow it.
    server.watch_readiness(next(iter(providers.values())).ping, settings.readiness_interval_seconds)
    server.keep_running(keys.keep_recording(settings.key_usage_flush_seconds))
    log.info("generating with %s (Ollama at %s), %d calls at a time", ", ".join(providers),
             public_host(settings.ollama_host), settings.ollama_concurrency)
    return running


async def main() -> None:
    settings = load_settings(SynthSettings)
    configure_logging(settings.log_level, settings.log_format)
    if not settings.api_token_list:
        log.warning("SYNTH_API_TOKENS is empty: every request will be refused")
    running = await start(settings)
    freeze_startup_objects()
    await serve_until_signal(running, settings.shutdown_grace_seconds)


if __name__ == "__main__":
    run_service(main, "synth")
