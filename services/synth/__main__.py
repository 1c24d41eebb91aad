"""Runs the synth service: provider, engine, gRPC server, graceful shutdown."""

from __future__ import annotations

import logging

from parley.synth.v1 import synth_service_pb2 as pb
from parley.synth.v1 import synth_service_pb2_grpc as pb_grpc
from services.common.interceptors import bearer_authenticator
from services.common.server import (
    GrpcServer,
    Running,
    configure_logging,
    freeze_startup_objects,
    run_service,
    serve_until_signal,
    start_or_close,
)
from services.synth.engine import Engine
from services.synth.providers.base import Provider
from services.synth.providers.ollama import OllamaProvider, public_host
from services.synth.servicer import SyntheticDataServicer
from services.synth.settings import SynthSettings

log = logging.getLogger("parley.synth")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SyntheticDataService"].full_name


async def start(settings: SynthSettings) -> Running:
    """Starts serving; the providers' clients are closed again if serving fails."""
    providers: list[Provider] = [OllamaProvider(settings.ollama_host, settings.call_timeout_seconds)]
    engine = Engine({p.name: p for p in providers}, settings.ollama_concurrency)
    servicer = SyntheticDataServicer(engine, settings)
    server = GrpcServer(
        service_names=[SERVICE_NAME],
        register=lambda s: pb_grpc.add_SyntheticDataServiceServicer_to_server(servicer, s),
        authenticate=bearer_authenticator(settings.api_token_list),
        max_message_bytes=settings.max_request_bytes,
        max_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    running = await start_or_close(server, settings.listen, [p.close for p in providers])
    log.info("generating with Ollama at %s, %d calls at a time", public_host(settings.ollama_host),
             settings.ollama_concurrency)
    return running


async def main() -> None:
    settings = SynthSettings()
    configure_logging(settings.log_level)
    if not settings.api_token_list:
        log.warning("SYNTH_API_TOKENS is empty: every request will be refused")
    running = await start(settings)
    freeze_startup_objects()
    await serve_until_signal(running, settings.shutdown_grace_seconds)


if __name__ == "__main__":
    run_service(main)
