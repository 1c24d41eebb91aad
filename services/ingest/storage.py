"""All of ingest's SQL: batch insert with replay detection, get, list, delete.

Storage takes and returns the values of services/ingest/model.py; column names and
the paging arithmetic live here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from services.common import metrics
from services.common.errors import InvalidArgument, Unavailable
from services.ingest.errors import ChangedWhileStoring, ContentConflict, MissingParent, ParentDeleted
from services.ingest.model import (
    COLUMN_FILTERS,
    Batch,
    Created,
    Cursor,
    Filters,
    Insight,
    ListQuery,
    Page,
    Summary,
)

log = logging.getLogger("parley.ingest.storage")

# Every way the database can be away or refusing work: the client gets 503 and
# the pool reconnects on its own once PostgreSQL is back.
_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,  # also: no pooled connection free within the acquire timeout
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # e.g. the connection lost in the middle of COMMIT
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)

# The entity attributes stored as columns of the same name, in INSERT_SQL's order.
ENTITY_COLUMNS = (
    "summary_id", "summary_type", "media_type", "language", "agent_id", "source_id",
    "summary", "generated", "date_created", "conversation_id",
)
INSIGHT_COLUMNS = ("type", "title", "description", "outcome")

# Public: the benchmark's plain-asyncpg ceiling runs this same statement.
INSERT_SQL = """
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::bool[], $9::timestamptz[], $10::text[], $11::bytea[], $12::text[])
        WITH ORDINALITY AS t(summary_id, summary_type, media_type, language, agent_id, source_id,
                             summary, generated, date_created, conversation_id, content_hash, insight_text, ord)
), inserted AS (
    INSERT INTO summaries (summary_id, summary_type, media_type, language, agent_id, source_id,
                           summary, generated, date_created, conversation_id, content_hash, search)
    SELECT summary_id, summary_type, media_type, language, agent_id, source_id,
           summary, generated, date_created, conversation_id, content_hash,
           setweight(to_tsvector(parley_ts_config(language), summary), 'A')
           || setweight(to_tsvector(parley_ts_config(language), insight_text), 'B')
    FROM input ORDER BY ord
    ON CONFLICT (summary_id) DO NOTHING
    RETURNING id, summary_id
), inserted_insights AS (
    INSERT INTO insights (summary_pk, position, type, title, description, outcome)
    SELECT inserted.id, i.position, i.type, i.title, i.description, i.outcome
    FROM unnest($13::text[], $14::int[], $15::text[], $16::text[], $17::text[], $18::text[])
        AS i(summary_id, position, type, title, description, outcome)
    JOIN inserted USING (summary_id)
)
SELECT id, summary_id FROM inserted
"""

# A Summary's scalar fields are columns of the same name, read in the dataclass's order;
# snippet and rank are a search's, computed in _list_sql.
_NOT_COLUMNS = ("insights", "children", "snippet", "rank")
_COLUMNS = tuple(f.name for f in dataclasses.fields(Summary) if f.name not in _NOT_COLUMNS)
_SELECT = f"SELECT {', '.join(_COLUMNS)}, '' AS snippet, 0::float8 AS rank FROM summaries"
# The query a search runs: the words stemmed in every language rows may be in.
_QUERY = " || ".join(f"websearch_to_tsquery('{c}', $q)" for c in
                     ("simple", "spanish", "english", "portuguese", "french", "german", "italian"))
_SNIPPET = "'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, MaxFragments=1'"


class NoResetConnection(asyncpg.Connection):
    """Skips the reset query on release: the service never sets session state (no SET,
    LISTEN, advisory or prepared-by-name leftovers), and the query costs a round trip."""

    def get_reset_query(self) -> str:
        return ""


class Storage:
    def __init__(self, pool: asyncpg.Pool, acquire_seconds: float) -> None:
        self._pool = pool
        self._acquire_seconds = acquire_seconds

    @classmethod
    async def open(
        cls, dsn: str, *, min_size: int, max_size: int, query_seconds: float, acquire_seconds: float
    ) -> Storage:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, command_timeout=query_seconds, timeout=query_seconds,
            connection_class=NoResetConnection,
            # The server stops a statement too, so no query outlives its client's patience.
            server_settings={"statement_timeout": str(int(query_seconds * 1000))},
        )
        for state, count in (("open", pool.get_size), ("idle", pool.get_idle_size)):
            metrics.POOL_CONNECTIONS.labels(state).set_function(count)
        return cls(pool, acquire_seconds)

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
        except _UNAVAILABLE as exc:
            log.warning("database unavailable: %s", type(exc).__name__)
            raise Unavailable("Database unavailable") from None
        except asyncpg.DataError as exc:
            # Validation keeps these out; if one gets through, it is still the request's fault.
            log.warning("database refused a value: %s", type(exc).__name__)
            raise InvalidArgument("A value in the request cannot be stored") from None

    async def create(self, batch: Batch) -> Created:
        """Stores the batch atomically; replays keep their ids, a conflict stores nothing."""
        async with self.connection() as conn:
            if len(batch.entities) == 1:
                # One statement is atomic by itself, and with one row a conflict
                # means nothing was inserted: no BEGIN/COMMIT round trips needed.
                return await _create(conn, batch)
            async with conn.transaction():
                return await _create(conn, batch)

    async def get(self, summary_id: str) -> Summary | None:
        """The summary, with its children (oldest first) when it is a Conversation."""
        async with self.connection() as conn:
            row = await conn.fetchrow(f"{_SELECT} WHERE summary_id = $1", summary_id)
            if row is None:
                return None
            children = await conn.fetch(
                f"{_SELECT} WHERE conversation_id = $1 ORDER BY date_created, id", summary_id
            )
            parent, *rest = await _with_insights(conn, [row, *children])
        parent.children = rest
        return parent

    async def list(self, query: ListQuery) -> Page:
        """One page, newest first or best match first; `next_cursor` is set when more follow."""
        sql, args = _list_sql(query)
        async with self.connection() as conn:
            summaries = await _with_insights(conn, await conn.fetch(sql, *args))
        if len(summaries) <= query.page_size:
            return Page(summaries, None)
        page = summaries[: query.page_size]
        return Page(page, Cursor(page[-1].date_created, page[-1].id, page[-1].rank))

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


def _list_sql(query: ListQuery) -> tuple[str, list[Any]]:
    where, args = _where(query.filters)
    select, order, rank = _SELECT, "date_created DESC, id DESC", ""
    if query.filters.text:
        args.append(query.filters.text)
        n = len(args)
        # The words stemmed in every language find candidates through the GIN index; each row
        # is then matched with its own language's query, so "refund -parcels" excludes what
        # that row's stemmer calls a parcel.
        own = f"websearch_to_tsquery(parley_ts_config(language), ${n})"
        select = (f"SELECT {', '.join(_COLUMNS)},"
                  f" ts_headline(parley_ts_config(language), summary, {own}, {_SNIPPET}) AS snippet,"
                  f" ts_rank(search, {own})::float8 AS rank FROM summaries, (SELECT {_QUERY.replace('$q', f'${n}')})"
                  " AS q(candidates)")
        where.append(f"search @@ candidates AND search @@ {own}")
        if query.by_relevance:
            order = "rank DESC, id DESC"
            rank = f"ts_rank(search, {own})::float8"
    if query.after and query.by_relevance:
        args += [query.after.rank, query.after.id]
        where.append(f"({rank}, id) < (${len(args) - 1}, ${len(args)})")
    elif query.after:
        args += [query.after.date_created, query.after.id]
        where.append(f"(date_created, id) < (${len(args) - 1}, ${len(args)})")
    args.append(query.page_size + 1)  # one extra row tells whether another page follows
    return (f"{select}{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order} LIMIT ${len(args)}",
            args)


def _where(filters: Filters) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for column in COLUMN_FILTERS:
        value = getattr(filters, column)
        if value:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if filters.date_from:
        args.append(filters.date_from)
        where.append(f"date_created >= ${len(args)}")
    if filters.date_to:
        args.append(filters.date_to)
        where.append(f"date_created < ${len(args)}")
    if filters.generated is not None:
        args.append(filters.generated)
        where.append(f"generated = ${len(args)}")
    if filters.insight_type:
        args.append(filters.insight_type)
        where.append(f"EXISTS (SELECT 1 FROM insights i WHERE i.summary_pk = summaries.id"
                     f" AND i.type = ${len(args)})")
    if filters.outcome:
        args.append(filters.outcome)
        where.append("EXISTS (SELECT 1 FROM insights i WHERE i.summary_pk = summaries.id"
                     f" AND i.type = 'Resolution' AND i.outcome = ${len(args)})")
    return where, args


async def _create(conn: asyncpg.Connection, batch: Batch) -> Created:
    await _check_parents(conn, batch.outside_parents)
    try:
        rows = await conn.fetch(INSERT_SQL, *insert_columns(batch))
    except asyncpg.ForeignKeyViolationError:
        raise ParentDeleted() from None
    ids = {r["summary_id"]: r["id"] for r in rows}
    inserted = len(ids)
    if inserted < len(batch.entities):
        ids.update(await _replayed(conn, batch, ids))
    return Created(ids=ids, inserted=inserted)


def insert_columns(batch: Batch) -> list[list[Any]]:
    """INSERT_SQL's 18 array arguments: the summaries' columns, their hashes, the text of their
    insights (for search), then the insights'."""
    columns: list[list[Any]] = [[getattr(e, name) for e in batch.entities] for name in ENTITY_COLUMNS]
    columns.append(list(batch.hashes))
    columns.append([" ".join(f"{i.title} {i.description}" for i in e.insights) for e in batch.entities])
    insights: list[list[Any]] = [[] for _ in range(2 + len(INSIGHT_COLUMNS))]
    for entity in batch.entities:
        for position, insight in enumerate(entity.insights):
            values = (entity.summary_id, position, *(getattr(insight, name) for name in INSIGHT_COLUMNS))
            for column, value in zip(insights, values, strict=True):
                column.append(value)
    return columns + insights


async def _check_parents(conn: asyncpg.Connection, wanted: dict[str, int]) -> None:
    if not wanted:
        return
    rows = await conn.fetch(
        "SELECT summary_id, summary_type FROM summaries WHERE summary_id = ANY($1::text[])", list(wanted)
    )
    found = {r["summary_id"]: r["summary_type"] for r in rows}
    for parent, index in wanted.items():
        if found.get(parent) != "Conversation":
            raise MissingParent(index, parent, found.get(parent))


async def _replayed(conn: asyncpg.Connection, batch: Batch, inserted: dict[str, int]) -> dict[str, int]:
    """Ids of the summaries already stored with identical content; any other difference is a conflict."""
    pending = {
        e.summary_id: digest
        for e, digest in zip(batch.entities, batch.hashes, strict=True)
        if e.summary_id not in inserted
    }
    rows = await conn.fetch(
        "SELECT id, summary_id, content_hash FROM summaries WHERE summary_id = ANY($1::text[])", list(pending)
    )
    if len(rows) < len(pending):
        raise ChangedWhileStoring()
    for row in rows:
        if row["content_hash"] != pending[row["summary_id"]]:
            raise ContentConflict(row["summary_id"])
    return {r["summary_id"]: r["id"] for r in rows}


async def _with_insights(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> list[Summary]:
    summaries = [Summary(*row) for row in rows]
    if not summaries:
        return summaries
    by_pk = {s.id: s for s in summaries}
    insights = await conn.fetch(
        f"SELECT summary_pk, {', '.join(INSIGHT_COLUMNS)} FROM insights"
        " WHERE summary_pk = ANY($1::bigint[]) ORDER BY summary_pk, position",
        list(by_pk),
    )
    for row in insights:
        by_pk[row["summary_pk"]].insights.append(Insight(*tuple(row)[1:]))
    return summaries
