"""Reading and deleting many summaries at once: export through a cursor, batch delete in chunks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from services.ingest.model import Filters
from services.ingest.storage.reads import selected

# PostgreSQL renders each row, in the service's other process, so the service only joins
# text: one JSON object shaped as GetConversation's (null fields left out, as there),
# or the CSV columns of services/ingest/export.py. The JSON is written out member by
# member: json_build_object then json_strip_nulls parses it all again, and took 1.7 times
# as long for the same bytes.
_TIME = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def _object(*members: tuple[str, str]) -> str:
    """SQL for a JSON object's text from (name, SQL for the value's JSON text) pairs; a
    member whose value is NULL is left out."""
    parts = [f"coalesce('{',' if n else ''}\"{name}\":' || {value}, '')" for n, (name, value) in enumerate(members)]
    return f"'{{' || {' || '.join(parts)} || '}}'"


_INSIGHT = _object(("type", "to_json(i.type)"), ("title", "to_json(i.title)"),
                   ("description", "to_json(i.description)"), ("outcome", "to_json(i.outcome)"))
# A summary's insights as a JSON array, over its insights i.
_INSIGHTS = f"'[' || coalesce(string_agg({_INSIGHT}, ',' ORDER BY i.position), '') || ']'"
_NDJSON = _object(
    ("id", "id::text"), ("summaryType", "to_json(summary_type)"), ("mediaType", "to_json(media_type)"),
    ("language", "to_json(language)"), ("summaryId", "to_json(summary_id)"), ("agentId", "to_json(agent_id)"),
    ("sourceId", "to_json(source_id)"), ("summary", "to_json(summary)"), ("generated", "generated::text"),
    ("dateCreated", f"to_json({_TIME.format('date_created')})"),
    ("conversationId", "to_json(coalesce(genesys_conversation_id, conversation_id))"),
    ("insights", f"(SELECT {_INSIGHTS} FROM insights i WHERE i.summary_pk = summaries.id)"),
    ("createTime", f"to_json({_TIME.format('create_time')})"), ("parentSummaryId", "to_json(conversation_id)"))


def _titles(kind: str, column: str = "title") -> str:
    return f"string_agg(i.{column}, ' | ' ORDER BY i.position) FILTER (WHERE i.type = '{kind}')"


# The CSV's insight columns, read in one pass over each summary's insights.
_CSV_INSIGHTS = f"""CROSS JOIN LATERAL (SELECT {_titles('Reason')}, {_titles('Resolution')},
    {_titles('Resolution', 'outcome')}, {_titles('ActionItem')}, {_INSIGHTS}
    FROM insights i WHERE i.summary_pk = summaries.id) AS flat"""
_CSV = f"""id, summary_id, summary_type, media_type, language, agent_id, source_id,
    coalesce(genesys_conversation_id, conversation_id), conversation_id, generated::text,
    {_TIME.format('date_created')}, {_TIME.format('create_time')}, summary, flat.*"""
ROWS = {"ndjson": _NDJSON, "csv": _CSV}
JOINS = {"ndjson": "", "csv": " " + _CSV_INSIGHTS}


async def export(
    conn: asyncpg.Connection, filters: Filters, form: str, chunk_rows: int
) -> AsyncIterator[Sequence[Any]]:
    """The selected rows, newest first, rendered for `form`, `chunk_rows` at a time. The
    caller holds a transaction open (a cursor lives in one); each fetch is its own statement,
    so the statement timeout bounds a fetch, not the whole export. PostgreSQL renders the
    next chunk while the caller sends this one: the two processes work side by side."""
    sql, args = selected(filters, ROWS[form], JOINS[form])
    sql += " ORDER BY date_created DESC, id DESC"
    cursor = await conn.cursor(sql, *args)
    upcoming = asyncio.ensure_future(cursor.fetch(chunk_rows))
    try:
        while rows := await upcoming:
            upcoming = asyncio.ensure_future(cursor.fetch(chunk_rows))
            yield rows
    finally:
        if not upcoming.done():  # the caller stopped reading: the fetch must end before the connection goes back
            upcoming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upcoming


def _picked(filters: Filters, limit: bool) -> tuple[str, list[Any]]:
    sql, args = selected(filters, "summaries.id, summary_id, summary_type")
    if limit:
        args.append(0)  # the chunk size, set by the caller
        sql += f" ORDER BY summaries.id LIMIT ${len(args)}"
    return sql, args


async def count_deletable(conn: asyncpg.Connection, filters: Filters) -> tuple[int, int]:
    """(summaries, conversations) a batch delete with these filters would take now."""
    picked, args = _picked(filters, limit=False)
    row = await conn.fetchrow(
        f"""WITH picked AS MATERIALIZED ({picked})
            SELECT (SELECT count(*) FROM picked)
                 + (SELECT count(*) FROM summaries c JOIN picked p ON p.summary_type = 'Conversation'
                    AND c.conversation_id = p.summary_id WHERE c.id NOT IN (SELECT id FROM picked)) AS deleted,
                   (SELECT count(*) FROM picked WHERE summary_type = 'Conversation') AS conversations""",
        *args)
    return int(row["deleted"]), int(row["conversations"])


async def delete_chunk(conn: asyncpg.Connection, filters: Filters, chunk: int) -> tuple[int, int]:
    """Deletes up to `chunk` selected summaries with the children of the Conversations among
    them, in one statement: a conversation goes whole or not at all. Returns (summaries,
    conversations) deleted; (0, 0) when nothing is left to delete."""
    picked, args = _picked(filters, limit=True)
    args[-1] = chunk
    row = await conn.fetchrow(
        f"""WITH picked AS MATERIALIZED ({picked}),
            children AS (DELETE FROM summaries c USING picked p
                         WHERE p.summary_type = 'Conversation' AND c.conversation_id = p.summary_id
                         RETURNING c.id),
            gone AS (DELETE FROM summaries s USING picked p WHERE s.id = p.id RETURNING s.id, s.summary_type)
            SELECT (SELECT count(*) FROM (SELECT id FROM children UNION SELECT id FROM gone) AS x) AS deleted,
                   (SELECT count(*) FROM gone WHERE summary_type = 'Conversation') AS conversations""",
        *args)
    return int(row["deleted"]), int(row["conversations"])
