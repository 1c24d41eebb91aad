"""Prometheus metrics of both services, served on a port of their own (`*_METRICS_LISTEN`).

Labels are method names, codes and outcomes: never a key, a key's name or an id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from services.common.startup import StartupError

RPCS = Counter("parley_rpcs", "RPCs handled, by method and gRPC status code", ["method", "code"])
RPC_SECONDS = Histogram("parley_rpc_seconds", "RPC duration", ["method"],
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120))

POOL_CONNECTIONS = Gauge("parley_db_pool_connections", "PostgreSQL connections in ingest's pool", ["state"])
POOL_WAIT_SECONDS = Histogram("parley_db_pool_wait_seconds", "Time waiting for a pooled connection",
                              buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5))
EXPORTED = Counter("parley_ingest_exported", "Summaries streamed out by exports")
RETAINED_DELETED = Counter("parley_ingest_retention_deleted", "Summaries deleted by the retention job")
GROUPED_ENTITIES = Histogram("parley_ingest_group_commit_entities",
                             "Single-entity creates written together by one statement",
                             buckets=(1, 2, 4, 8, 16, 32, 64, 100))
ENTITIES = Counter("parley_ingest_entities", "Entities by outcome: stored, replayed or rejected", ["outcome"])

RECORDS = Counter("parley_synth_records", "Records returned to clients")
ATTEMPTS = Counter("parley_synth_attempts", "Model answers by verdict: accepted or rejected (then retried)",
                   ["verdict"])
TOKENS = Counter("parley_synth_tokens", "Model tokens, by kind: input or output", ["kind"])
PROVIDER_SECONDS = Histogram("parley_synth_provider_seconds", "One model call's duration", ["provider"],
                             buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))


def serve(address: str, setting: str) -> int:
    """Starts the /metrics HTTP server on `address` (port 0 picks one); returns the port."""
    host, _, port = address.rpartition(":")
    try:
        server, _thread = start_http_server(int(port), addr=host)
    except OSError:
        raise StartupError(f"cannot serve metrics on {address} ({setting}): the port is in use; set another") from None
    return int(server.server_address[1])
