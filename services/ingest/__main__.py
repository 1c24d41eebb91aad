"""Runs the ingest service: migrations, pool, gRPC server, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import secrets

import grpc

from parley.admin.v1 import key_service_pb2 as admin_pb
from parley.admin.v1 import key_service_pb2_grpc as admin_grpc
from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from parley.synth.v1 import synth_service_pb2 as synth_pb
from services.common import metrics
from services.common.guard import ANY_KEY, Guard
from services.common.keys import INGEST_FORMS, KeyStore, bootstrap_keys
from services.common.logs import configure_logging
from services.common.ratelimit import RateLimiter
from services.common.server import (
    GrpcServer,
    Running,
    freeze_startup_objects,
    serve_until_signal,
    start_or_close,
)
from services.common.startup import load_settings, run_service
from services.ingest.admin import KeyServicer
from services.ingest.migrate import connect_with_retry, migrate
from services.ingest.paging import Pager
from services.ingest.servicer import ConversationServicer, Imports
from services.ingest.settings import IngestSettings
from services.ingest.storage import Storage

log = logging.getLogger("parley.ingest")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ConversationService"].full_name
ADMIN_NAME = admin_pb.DESCRIPTOR.services_by_name["KeyService"].full_name

# The scope each method needs; KeyService's methods need "admin" (the Guard's fallback),
# but for the one that tells a key what it may do.
SCOPES = {
    f"/{ADMIN_NAME}/GetCallerKey": ANY_KEY,
    f"/{SERVICE_NAME}/CreateConversations": "conversations:write",
    f"/{SERVICE_NAME}/GetConversation": "conversations:read",
    f"/{SERVICE_NAME}/ListConversations": "conversations:read",
    f"/{SERVICE_NAME}/DeleteConversation": "conversations:delete",
    f"/{SERVICE_NAME}/GetConversationStats": "conversations:read",
    f"/{SERVICE_NAME}/ListTopInsights": "conversations:read",
    f"/{SERVICE_NAME}/ExportConversations": "conversations:read",
    f"/{SERVICE_NAME}/BatchDeleteConversations": "conversations:delete",
    f"/{SERVICE_NAME}/ImportConversations": "conversations:write",
}
# INGEST_API_KEYS keep doing all they did before keys had scopes, and can manage keys.
BOOTSTRAP_SCOPES = ("conversations:write", "conversations:read", "conversations:delete", "admin")


def page_token_secret(settings: IngestSettings) -> bytes:
    if settings.page_token_secret:
        return settings.page_token_secret.encode()
    log.warning("INGEST_PAGE_TOKEN_SECRET is not set: page tokens will not survive a restart or cross replicas")
    return secrets.token_bytes(32)


async def start(settings: IngestSettings) -> Running:
    """Migrates, opens the pool and starts serving; the pool is closed again if serving fails."""
    if settings.migrate_on_start:
        conn = await connect_with_retry(settings.database_url, settings.db_startup_timeout_seconds)
        try:
            await migrate(conn)
        finally:
            await conn.close()
    storage = await Storage.open(
        settings.database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        query_seconds=settings.query_timeout_seconds,
        parallel_workers=settings.parallel_workers,
        group_writers=settings.group_writer_count,
        acquire_seconds=settings.pool_acquire_timeout_seconds,
    )
    servicer = ConversationServicer(storage, settings.max_entities, Pager(page_token_secret(settings)),
                                    settings.max_exports, Imports(settings.max_imports, settings.import_chunk_lines,
                                                                  settings.max_request_bytes),
                                    strict_hierarchy=settings.strict_hierarchy)
    keys = KeyStore(bootstrap_keys(settings.api_key_list, "bootstrap-ingest", BOOTSTRAP_SCOPES), storage.pool,
                    settings.key_cache_seconds, settings.pool_acquire_timeout_seconds)

    def register(server: grpc.aio.Server) -> None:
        pb_grpc.add_ConversationServiceServicer_to_server(servicer, server)
        admin_grpc.add_KeyServiceServicer_to_server(KeyServicer(storage), server)

    server = GrpcServer(
        service_names=[SERVICE_NAME, ADMIN_NAME],
        # The gateway routes reflection here: describe synth's API too, for grpcurl and buf curl.
        also_described=[synth_pb.DESCRIPTOR.services_by_name["SyntheticDataService"].full_name],
        register=register,
        guard=Guard(keys, SCOPES, RateLimiter(settings.key_rate_per_second, settings.key_rate_burst), INGEST_FORMS),
        max_message_bytes=settings.max_request_bytes,
        max_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    running = await start_or_close(server, settings.listen, setting="INGEST_LISTEN", closers=[storage.close],
                                   metrics_address=settings.metrics_listen)
    server.watch_readiness(storage.ping, settings.readiness_interval_seconds)
    server.keep_running(keys.keep_recording(settings.key_usage_flush_seconds))
    server.keep_running(keep_merging_counts(storage, settings.counts_merge_seconds))
    if settings.retention_days:
        server.keep_running(keep_retention(servicer, settings.retention_days, settings.retention_interval_seconds))
    return running


async def keep_retention(servicer: ConversationServicer, days: int, interval: float) -> None:
    """INGEST_RETENTION_DAYS: deletes what is older, at start and then every interval. Every
    replica may run it; deleting what another replica deleted already is a no-op."""
    log.info("retention: summaries older than %d days are deleted every %ss", days, interval)
    while True:
        try:
            deleted = await servicer.delete_older_than(days)
        except Exception as exc:  # whatever it was, the next round tries again
            log.warning("retention: not applied this time (%s: %s); retrying in %ss", type(exc).__name__, exc,
                        interval)
        else:
            metrics.RETAINED_DELETED.inc(deleted)
            log.info("retention: deleted %d summaries older than %d days", deleted, days)
        await asyncio.sleep(interval)


async def keep_merging_counts(storage: Storage, interval: float) -> None:
    """Folds the counts stats read (migration 009) every interval: they stay exact without
    it, but each write appends rows that a read then adds up."""
    while True:
        await asyncio.sleep(interval)
        try:
            folded = await storage.merge_counts()
        except Exception as exc:  # whatever it was, the next round tries again
            log.warning("counts: not merged this time (%s: %s); retrying in %ss", type(exc).__name__, exc, interval)
        else:
            log.debug("counts: folded %d rows", folded)


async def main() -> None:
    settings = load_settings(IngestSettings)
    configure_logging(settings.log_level, settings.log_format)
    if not settings.api_key_list:
        log.warning("INGEST_API_KEYS is empty: every request will be refused")
    running = await start(settings)
    freeze_startup_objects()
    await serve_until_signal(running, settings.shutdown_grace_seconds)


if __name__ == "__main__":
    run_service(main, "ingest")
