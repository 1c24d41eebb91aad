"""All of ingest's SQL: batch insert with replay detection, get, list, delete."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from services.common.errors import AlreadyExists, InvalidArgument, Unavailable
from services.ingest.domain import Entity, external_parents, missing_parent

log = logging.getLogger("parley.ingest.storage")

# Every way the database can be away or refusing work: the client gets 503 and
# the pool reconnects on its own once PostgreSQL is back.
_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)

# Public: the benchmark's plain-asyncpg ceiling runs this same statement.
INSERT_SQL = """
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::bool[], $9::timestamptz[], $10::text[], $11::bytea[])
        WITH ORDINALITY AS t(summary_id, summary_type, media_type, language, agent_id, source_id,
                             summary, generated, date_created, conversation_id, content_hash, ord)
), inserted AS (
    INSERT INTO summaries (summary_id, summary_type, media_type, language, agent_id, source_id,
                           summary, generated, date_created, conversation_id, content_hash)
    SELECT summary_id, summary_type, media_type, language, agent_id, source_id,
           summary, generated, date_created, conversation_id, content_hash
    FROM input ORDER BY ord
    ON CONFLICT (summary_id) DO NOTHING
    RETURNING id, summary_id
), inserted_insights AS (
    INSERT INTO insights (summary_pk, position, type, title, description, outcome)
    SELECT inserted.id, i.position, i.type, i.title, i.description, i.outcome
    FROM unnest($12::text[], $13::int[], $14::text[], $15::text[], $16::text[], $17::text[])
        AS i(summary_id, position, type, title, description, outcome)
    JOIN inserted USING (summary_id)
)
SELECT id, summary_id FROM inserted
"""

_COLUMNS = (
    "id, summary_id, summary_type, media_type, language, agent_id, source_id, summary,"
    " generated, date_created, conversation_id, create_time"
)


@dataclass(frozen=True)
class Created:
    ids: dict[str, int]
    inserted: int


@dataclass
class Stored:
    """A stored summary with its insights and (from get) its children."""

    row: asyncpg.Record
    insights: list[asyncpg.Record] = field(default_factory=list)
    children: list[Stored] = field(default_factory=list)


@dataclass(frozen=True)
class ListQuery:
    filters: dict[str, str]
    date_from: datetime | None
    date_to: datetime | None
    after: tuple[datetime, int] | None
    limit: int


class NoResetConnection(asyncpg.Connection):
    """Skips the reset query on release: the service never sets session state (no SET,
    LISTEN, advisory or prepared-by-name leftovers), and the query costs a round trip."""

    def get_reset_query(self) -> str:
        return ""


class Storage:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str, *, min_size: int, max_size: int, query_seconds: float) -> Storage:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, command_timeout=query_seconds, timeout=query_seconds,
            connection_class=NoResetConnection,
        )
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            log.warning("database unavailable: %s", type(exc).__name__)
            raise Unavailable("Database unavailable") from None

    async def create(self, entities: Sequence[Entity]) -> Created:
        """Stores the batch atomically; replays keep their ids, a conflict stores nothing."""
        async with self._connection() as conn:
            if len(entities) == 1:
                # One statement is atomic by itself, and with one row a conflict
                # means nothing was inserted: no BEGIN/COMMIT round trips needed.
                return await _create(conn, entities)
            async with conn.transaction():
                return await _create(conn, entities)

    async def get(self, summary_id: str) -> Stored | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM summaries WHERE summary_id = $1", summary_id)
            if row is None:
                return None
            children = await conn.fetch(
                f"SELECT {_COLUMNS} FROM summaries WHERE conversation_id = $1 ORDER BY date_created, id",
                summary_id,
            )
            stored = await _with_insights(conn, [row, *children])
        stored[0].children = stored[1:]
        return stored[0]

    async def list(self, query: ListQuery) -> list[Stored]:
        where: list[str] = []
        args: list[Any] = []
        for column, value in query.filters.items():
            args.append(value)
            where.append(f"{column} = ${len(args)}")
        if query.date_from:
            args.append(query.date_from)
            where.append(f"date_created >= ${len(args)}")
        if query.date_to:
            args.append(query.date_to)
            where.append(f"date_created < ${len(args)}")
        if query.after:
            args.extend(query.after)
            where.append(f"(date_created, id) < (${len(args) - 1}, ${len(args)})")
        args.append(query.limit)
        sql = (
            f"SELECT {_COLUMNS} FROM summaries"
            f"{' WHERE ' + ' AND '.join(where) if where else ''}"
            f" ORDER BY date_created DESC, id DESC LIMIT ${len(args)}"
        )
        async with self._connection() as conn:
            rows = await conn.fetch(sql, *args)
            return await _with_insights(conn, rows)

    async def delete(self, summary_id: str) -> int:
        """Deletes the summary and its children in one statement; returns how many rows went."""
        async with self._connection() as conn:
            return int(
                await conn.fetchval(
                    "WITH gone AS (DELETE FROM summaries WHERE summary_id = $1 OR conversation_id = $1"
                    " RETURNING 1) SELECT count(*) FROM gone",
                    summary_id,
                )
            )


async def _create(conn: asyncpg.Connection, entities: Sequence[Entity]) -> Created:
    hashes = [e.content_hash() for e in entities]
    await _check_parents(conn, entities)
    try:
        rows = await conn.fetch(INSERT_SQL, *insert_columns(entities, hashes))
    except asyncpg.ForeignKeyViolationError:
        raise InvalidArgument("A conversationId names a Conversation that was just deleted") from None
    ids = {r["summary_id"]: r["id"] for r in rows}
    inserted = len(ids)
    if inserted < len(entities):
        ids.update(await _replayed(conn, entities, hashes, ids))
    return Created(ids=ids, inserted=inserted)


def insert_columns(entities: Sequence[Entity], hashes: list[bytes]) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(17)]
    for entity, digest in zip(entities, hashes, strict=True):
        values: tuple[Any, ...] = (
            entity.summary_id, entity.summary_type, entity.media_type, entity.language, entity.agent_id,
            entity.source_id, entity.summary, entity.generated, entity.date_created,
            entity.conversation_id, digest,
        )
        for column, value in zip(columns, values, strict=False):
            column.append(value)
        for position, insight in enumerate(entity.insights):
            for column, value in zip(
                columns[11:],
                (entity.summary_id, position, insight.type, insight.title, insight.description, insight.outcome),
                strict=True,
            ):
                column.append(value)
    return columns


async def _check_parents(conn: asyncpg.Connection, entities: Sequence[Entity]) -> None:
    wanted = external_parents(entities)
    if not wanted:
        return
    rows = await conn.fetch(
        "SELECT summary_id, summary_type FROM summaries WHERE summary_id = ANY($1::text[])", list(wanted)
    )
    found = {r["summary_id"]: r["summary_type"] for r in rows}
    for parent, index in wanted.items():
        if found.get(parent) != "Conversation":
            raise missing_parent(index, parent, found.get(parent))


async def _replayed(
    conn: asyncpg.Connection, entities: Sequence[Entity], hashes: list[bytes], inserted: dict[str, int]
) -> dict[str, int]:
    """Ids of the summaries already stored with identical content; any other difference is a conflict."""
    pending = {e.summary_id: h for e, h in zip(entities, hashes, strict=True) if e.summary_id not in inserted}
    rows = await conn.fetch(
        "SELECT id, summary_id, content_hash FROM summaries WHERE summary_id = ANY($1::text[])", list(pending)
    )
    if len(rows) < len(pending):
        # Skipped as already stored, then deleted before this read: let the client retry.
        raise AlreadyExists("A summaryId in this batch changed while it was being stored; retry the request")
    for row in rows:
        if row["content_hash"] != pending[row["summary_id"]]:
            raise AlreadyExists(
                f"summaryId '{row['summary_id']}' is already stored with different content"
            )
    return {r["summary_id"]: r["id"] for r in rows}


async def _with_insights(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> list[Stored]:
    stored = [Stored(row) for row in rows]
    if not stored:
        return stored
    by_pk = {s.row["id"]: s for s in stored}
    insights = await conn.fetch(
        "SELECT summary_pk, type, title, description, outcome FROM insights"
        " WHERE summary_pk = ANY($1::bigint[]) ORDER BY summary_pk, position",
        list(by_pk),
    )
    for insight in insights:
        by_pk[insight["summary_pk"]].insights.append(insight)
    return stored
