"""Reading and deleting many summaries at once: export through a cursor, batch delete in chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from services.ingest.model import Filters
from services.ingest.storage.reads import selected

# PostgreSQL renders each row, in the service's other process, so the service only joins
# text: one JSON object shaped as GetConversation's (null fields left out, as there),
# or the CSV columns of services/ingest/export.py.
_TIME = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
_INSIGHTS = ("(SELECT coalesce(json_agg(json_build_object('type', i.type, 'title', i.title,"
             " 'description', i.description, 'outcome', i.outcome) ORDER BY i.position), '[]')"
             " FROM insights i WHERE i.summary_pk = summaries.id)")
_NDJSON = f"""json_strip_nulls(json_build_object(
    'id', id, 'summaryType', summary_type, 'mediaType', media_type, 'language', language,
    'summaryId', summary_id, 'agentId', agent_id, 'sourceId', source_id, 'summary', summary,
    'generated', generated, 'dateCreated', {_TIME.format('date_created')},
    'conversationId', coalesce(genesys_conversation_id, conversation_id), 'insights', {_INSIGHTS},
    'createTime', {_TIME.format('create_time')}, 'parentSummaryId', conversation_id))::text"""


def _titles(kind: str, column: str = "title") -> str:
    return f"string_agg(i.{column}, ' | ' ORDER BY i.position) FILTER (WHERE i.type = '{kind}')"


# The CSV's insight columns, read in one pass over each summary's insights.
_CSV_INSIGHTS = f"""CROSS JOIN LATERAL (SELECT {_titles('Reason')}, {_titles('Resolution')},
    {_titles('Resolution', 'outcome')}, {_titles('ActionItem')},
    json_strip_nulls(coalesce(json_agg(json_build_object('type', i.type, 'title', i.title,
        'description', i.description, 'outcome', i.outcome) ORDER BY i.position), '[]'))::text
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
    so the statement timeout bounds a fetch, not the whole export."""
    sql, args = selected(filters, ROWS[form], JOINS[form])
    sql += " ORDER BY date_created DESC, id DESC"
    cursor = await conn.cursor(sql, *args)
    while rows := await cursor.fetch(chunk_rows):
        yield rows


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
