"""Settings of the ingest service, from the environment."""

from __future__ import annotations

import os

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.common import ports
from services.common.settings import ServerSettings, split_csv
from services.ingest.domain import MAX_ENTITIES


def default_pool_size() -> int:
    """About two connections per core, PostgreSQL's own rule of thumb, between 4 and 10.

    On a 2-core machine a pool of 10 made PostgreSQL's backends compete with Envoy and
    the service for the CPU, and single-entity p99 went from about 40 ms to 57-89 ms.
    """
    return max(4, min(10, 2 * (os.cpu_count() or 2)))


class IngestSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore", populate_by_name=True)

    listen: str = f"127.0.0.1:{ports.INGEST}"
    # Prometheus /metrics (host:port; port 0 picks one; empty: no metrics server).
    metrics_listen: str = f"127.0.0.1:{ports.INGEST_METRICS}"
    database_url: str = Field(validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    # Comma-separated accepted x-api-key values. Never logged.
    api_keys: str = Field("", repr=False)
    # At most the contract's bound (proto/), which is also the default.
    max_entities: int = Field(MAX_ENTITIES, ge=1, le=MAX_ENTITIES)
    # An Agent summary needs a parent Conversation too (a VirtualAgent always does).
    strict_hierarchy: bool = False
    # The gateway enforces the same bound on the JSON body; this one guards native gRPC.
    max_request_bytes: int = Field(1024 * 1024, ge=1024)
    # RPCs in progress at once in this process (health and credential checks included);
    # beyond it a call is refused before its message is read, so a flood keeps memory flat.
    max_concurrent_rpcs: int = Field(64, ge=4, le=100_000)
    pool_min_size: int = Field(2, ge=0, le=100)
    # PostgreSQL's max_connections (100 by default) is shared by every replica: keep
    # replicas x this under it.
    pool_max_size: int = Field(default_factory=default_pool_size, ge=1, le=100)
    # Statements at once that write single-entity creates, each taking the ones queued behind
    # the last (group commit: storage/grouped.py); 0 writes each request on its own.
    # Default: half the pool, so reads always find a connection.
    group_writers: int | None = Field(None, ge=0, le=100)
    query_timeout_seconds: float = Field(10.0, gt=0, le=600)
    # PostgreSQL's max_parallel_workers_per_gather for this service's connections. Its
    # queries are short and many run at once: on two cores a worker's start cost more than
    # it saved, and took its CPU from the other requests (p99 of a year's stats by week
    # 88 -> 49 ms, serial). Raise it where PostgreSQL has cores to spare.
    parallel_workers: int = Field(0, ge=0, le=64)
    # Waiting for a free pooled connection longer than this answers 503 at once.
    pool_acquire_timeout_seconds: float = Field(5.0, gt=0, le=600)
    # How often readiness asks the database whether it answers.
    readiness_interval_seconds: float = Field(2.0, gt=0, le=60)
    db_startup_timeout_seconds: float = Field(60.0, gt=0)
    # Signs page tokens; every replica needs the same one. Empty: a random secret per
    # process, so tokens do not survive a restart (`make run` keeps one in .data/).
    page_token_secret: str = Field("", repr=False)
    # Exports in progress at once in this process; each holds a pooled connection while
    # its client reads (the next one gets 429).
    max_exports: int = Field(2, ge=1, le=100)
    # Imports in progress at once (the next one gets 429), and the lines each stores per
    # transaction; a line is bounded by max_request_bytes.
    max_imports: int = Field(2, ge=1, le=100)
    import_chunk_lines: int = Field(5000, ge=1, le=100_000)
    # Deletes summaries created more than this many days ago (Conversations with their
    # children), every retention_interval_seconds; 0 keeps everything.
    retention_days: int = Field(0, ge=0, le=36500)
    retention_interval_seconds: float = Field(3600.0, ge=1, le=86400)
    # How often the counts kept for stats and top insights are merged (migration 009).
    counts_merge_seconds: float = Field(10.0, ge=0.1, le=3600)
    # Kubernetes runs migrations in an init container and turns this off.
    migrate_on_start: bool = True

    @property
    def group_writer_count(self) -> int:
        return max(1, self.pool_max_size // 2) if self.group_writers is None else self.group_writers

    @property
    def api_key_list(self) -> list[str]:
        return split_csv(self.api_keys)

    @model_validator(mode="after")
    def _consistent(self) -> IngestSettings:
        if self.api_keys.strip() and not self.api_key_list:
            raise ValueError("INGEST_API_KEYS is set but holds no key (only commas or spaces)")
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("INGEST_POOL_MIN_SIZE must not be above INGEST_POOL_MAX_SIZE")
        return self
