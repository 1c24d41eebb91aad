"""All of ingest's SQL (this package): batch insert with replay detection (single-entity
creates grouped into shared statements: grouped.py), get, list, delete, stats, top insights.

Storage takes and returns the values of services/ingest/model.py; column names and
the paging arithmetic live here and nowhere else.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import asyncpg

from services.common import metrics
from services.common.errors import Unavailable
from services.ingest.analytics import Grouping
from services.ingest.model import Batch, Created, Cursor, Filters, ListQuery, Page, Stats, Summary, TopInsight
from services.ingest.storage import aggregates, bulk, failures, reads, writes
from services.ingest.storage.grouped import GroupCommit
from services.ingest.storage.writes import INSERT_SQL, insert_columns

# Public: the benchmark's plain-asyncpg ceiling runs the same statement on purpose.
__all__ = ["INSERT_SQL", "NoResetConnection", "Storage", "insert_columns"]

class NoResetConnection(asyncpg.Connection):
    """Skips the reset query on release: the service never sets session state (no SET,
    LISTEN, advisory or prepared-by-name leftovers), and the query costs a round trip."""

    def get_reset_query(self) -> str:
        return ""


class Storage:
    def __init__(self, pool: asyncpg.Pool, acquire_seconds: float, group_writers: int = 0) -> None:
        self._pool = pool
        self._acquire_seconds = acquire_seconds
        # Single-entity creates that queue behind others share a statement (grouped.py); 0: each its own.
        self._grouped = GroupCommit(self.connection, writers=group_writers) if group_writers else None

    @classmethod
    async def open(
        cls, dsn: str, *, min_size: int, max_size: int, query_seconds: float, acquire_seconds: float,
        group_writers: int = 0, parallel_workers: int = 2,
    ) -> Storage:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, command_timeout=query_seconds, timeout=query_seconds,
            connection_class=NoResetConnection,
            # The server stops a statement too, so no query outlives its client's patience.
            server_settings={
                "statement_timeout": str(int(query_seconds * 1000)),
                # asyncpg prepares every statement; after five runs PostgreSQL may switch to a
                # generic plan, blind to the filter values, which for a value that matches
                # nothing walked the whole date index (2 s at a million rows). Plans made
                # for the actual values cost a fraction of a millisecond.
                "plan_cache_mode": "force_custom_plan",
                # The summaries and their indexes are read from memory or SSD: at the default
                # (4) the planner walked the whole date index filtering on language, because
                # the table is in date order, rather than read that language's index in order.
                "random_page_cost": "1.1",
                "max_parallel_workers_per_gather": str(parallel_workers),
            },
        )
        for state, count in (("open", pool.get_size), ("idle", pool.get_idle_size)):
            metrics.POOL_CONNECTIONS.labels(state).set_function(count)
        return cls(pool, acquire_seconds, group_writers)

    async def ping(self) -> bool:
        """Whether the database answers now (readiness)."""
        try:
            async with self.connection() as conn:
                await conn.fetchval("SELECT 1", timeout=self._acquire_seconds)
            return True
        except Unavailable:
            return False

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def close(self) -> None:
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        asked = time.perf_counter()
        try:
            async with self._pool.acquire(timeout=self._acquire_seconds) as conn:
                metrics.POOL_WAIT_SECONDS.observe(time.perf_counter() - asked)
                yield conn
        except (*failures.UNAVAILABLE, asyncpg.DataError) as exc:
            raise (failures.translated(exc) or exc) from None

    async def create(self, batch: Batch) -> Created:
        """Stores the batch atomically; replays keep their ids, a conflict stores nothing."""
        if self._grouped and len(batch.entities) == 1:
            return await self._grouped.create(batch)
        async with self.connection() as conn:
            if len(batch.entities) == 1:
                # One statement is atomic by itself, and with one row a conflict
                # means nothing was inserted: no BEGIN/COMMIT round trips needed.
                return await writes.create(conn, batch)
            async with conn.transaction():
                return await writes.create(conn, batch)

    async def import_chunk(self, batch: Batch) -> Created:
        """Stores one chunk of an import atomically, copied in through staging tables."""
        async with self.connection() as conn, conn.transaction():
            return await writes.create(conn, batch, staged=True)

    async def get(self, summary_id: str) -> Summary | None:
        """The summary, with its children (oldest first) when it is a Conversation."""
        async with self.connection() as conn:
            row = await conn.fetchrow(f"{reads.SELECT} WHERE summary_id = $1", summary_id)
            if row is None:
                return None
            children = await conn.fetch(
                f"{reads.SELECT} WHERE conversation_id = $1 ORDER BY date_created, id", summary_id
            )
            parent, *rest = await reads.with_insights(conn, [row, *children])
        parent.children = rest
        return parent

    async def list(self, query: ListQuery) -> Page:
        """One page, newest first or best match first; `next_cursor` is set when more follow."""
        async with self.connection() as conn:
            rows = await self._page(conn, query)
            summaries = await reads.with_insights(conn, rows)
        if len(summaries) <= query.page_size:
            return Page(summaries, None)
        page = summaries[: query.page_size]
        return Page(page, Cursor(page[-1].date_created, page[-1].id, page[-1].rank))

    @staticmethod
    async def _page(conn: asyncpg.Connection, query: ListQuery) -> Sequence[asyncpg.Record]:
        """The page's rows: a search walks the newest summaries first (reads.py says why),
        a short probe and then the whole walk, and reads the index where they found too few."""
        walks: tuple[int, ...] = ()
        if query.filters.text:
            walks = (reads.WALK_ROWS,) if query.by_relevance else (reads.PROBE_ROWS, reads.WALK_ROWS)
        for walk in walks:
            sql, args = reads.list_sql(query, walk=walk)
            rows = await conn.fetch(sql, *args)
            if len(rows) > query.page_size:
                return rows
            if not rows:  # not one match among the newest: the words are rare
                break
        sql, args = reads.list_sql(query)
        return await conn.fetch(sql, *args)

    async def stats(self, filters: Filters, grouping: Grouping) -> Stats:
        """How many summaries the filters select, and their groups."""
        async with self.connection() as conn:
            return await aggregates.stats(conn, filters, grouping)

    async def top_insights(self, filters: Filters, kind: str, limit: int) -> Sequence[TopInsight]:
        """The most frequent insight titles of `kind`, with the share resolved."""
        async with self.connection() as conn:
            return await aggregates.top_insights(conn, filters, kind, limit)

    async def delete(self, summary_id: str) -> int:
        """Deletes the summary and its children in one statement; returns how many rows went."""
        async with self.connection() as conn:
            return int(
                await conn.fetchval(
                    "WITH gone AS (DELETE FROM summaries WHERE summary_id = $1 OR conversation_id = $1"
                    " RETURNING 1) SELECT count(*) FROM gone",
                    summary_id,
                )
            )

    async def merge_counts(self) -> int:
        """Folds the counts appended since the last merge into one row per key (see migration
        009); returns how many rows it folded (0 when another merge is running)."""
        async with self.connection() as conn:
            return int(await conn.fetchval("SELECT parley_merge_counts()"))

    async def export(self, filters: Filters, form: str, chunk_rows: int) -> AsyncGenerator[Sequence[Any], None]:
        """The selected summaries, newest first, rendered for `form` ("ndjson": one JSON text
        a line; "csv": the lines of services/ingest/export.py), in chunks of rows. One
        transaction (a consistent snapshot) and one pooled connection for the whole export."""
        # The rows are closed first if the reader stops, so their fetch has ended before the ROLLBACK.
        async with self.connection() as conn, conn.transaction(readonly=True), contextlib.aclosing(
                bulk.export(conn, filters, form, chunk_rows)) as chunks:
            async for rows in chunks:
                yield rows

    async def count_deletable(self, filters: Filters) -> tuple[int, int]:
        """(summaries, conversations) that delete_many would take now."""
        async with self.connection() as conn:
            return await bulk.count_deletable(conn, filters)

    async def delete_many(self, filters: Filters, chunk: int) -> tuple[int, int]:
        """Deletes the selected summaries, each Conversation with its children, `chunk`
        selected rows a statement (each its own transaction, so no statement outlives the
        timeout and a failure leaves whole conversations only). Returns (summaries,
        conversations) deleted."""
        deleted = conversations = 0
        while True:
            async with self.connection() as conn:
                went, parents = await bulk.delete_chunk(conn, filters, chunk)
            if not went:
                return deleted, conversations
            deleted, conversations = deleted + went, conversations + parents
