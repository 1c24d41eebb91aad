"""Reading and deleting many summaries at once: export through a cursor, batch delete in chunks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import asyncpg

from services.ingest.model import Filters
from services.ingest.storage.reads import selected

# PostgreSQL renders each row as one line of text, in its own process, so the service only
# joins lines. NDJSON: one JSON object shaped as GetConversation's (null fields left out, as
# there), written out member by member: json_build_object then json_strip_nulls parses it
# all again, and took 1.7 times as long for the same bytes. CSV: the columns of
# services/ingest/export.py, RFC 4180 (CRLF line ends), quoted here: Python's csv module
# took longer over the rows than PostgreSQL took to read them.
_TIME = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def _object(*members: tuple[str, str, bool]) -> str:
    """SQL for a JSON object's text from (name, SQL for the value's JSON text, whether it
    can be NULL) triples; a member whose value is NULL is left out. The first member is
    never NULL."""
    parts = [f"'{{\"{members[0][0]}\":' || {members[0][1]}"]
    for name, value, nullable in members[1:]:
        member = f"',\"{name}\":' || {value}"
        parts.append(f"coalesce({member}, '')" if nullable else member)
    return f"{' || '.join(parts)} || '}}'"


def _plain(text: str) -> str:
    """Text as a JSON string where it has nothing to escape (to_json would look for
    something to): a word a CHECK constraint allows, or a time to_char wrote."""
    return f"'\"' || {text} || '\"'"


_INSIGHT = _object(("type", _plain("i.type"), False), ("title", "to_json(i.title)", False),
                   ("description", "to_json(i.description)", False), ("outcome", "to_json(i.outcome)", True))
# A summary's insights as a JSON array: the copy stored with it (migration 013), or for a
# summary stored before that, read in order from the primary key (no sort, unlike an ordered
# aggregate's: a third faster, with the other members written as here). COALESCE runs the
# lookup only where there is no copy.
_INSIGHTS_OF = (f"coalesce(insights_json, '[' || array_to_string(ARRAY(SELECT {_INSIGHT} FROM insights i"
                f" WHERE i.summary_pk = summaries.id ORDER BY i.position), ',') || ']')")
_NDJSON = _object(
    ("id", "id::text", False), ("summaryType", _plain("summary_type"), False),
    ("mediaType", _plain("media_type"), False), ("language", "to_json(language)", False),
    ("summaryId", "to_json(summary_id)", False), ("agentId", "to_json(agent_id)", True),
    ("sourceId", "to_json(source_id)", False), ("summary", "to_json(summary)", False),
    ("generated", "generated::text", False), ("dateCreated", _plain(_TIME.format("date_created")), False),
    ("conversationId", "to_json(coalesce(genesys_conversation_id, conversation_id))", True),
    ("insights", _INSIGHTS_OF, False), ("createTime", _plain(_TIME.format("create_time")), False),
    ("parentSummaryId", "to_json(conversation_id)", True))


def _titles(kind: str, member: str = "title") -> str:
    return f"string_agg(i->>'{member}', ' | ') FILTER (WHERE i->>'type' = '{kind}')"


def _cell(value: str) -> str:
    """A CSV cell of text that may hold anything: quoted, quotes doubled; NULL is empty."""
    return f"""coalesce('"' || replace({value}, '"', '""') || '"', '')"""


# The CSV's columns, in services/ingest/export.py's order. Numbers, booleans, times and the
# few words CHECK constraints allow go as they are; text is quoted whatever it holds.
_CSV_CELLS = (
    "id::text", _cell("summary_id"), "summary_type", "media_type", _cell("language"), _cell("agent_id"),
    _cell("source_id"), _cell("coalesce(genesys_conversation_id, conversation_id)"), _cell("conversation_id"),
    "generated::text", _TIME.format("date_created"), _TIME.format("create_time"), _cell("summary"),
    _cell("flat.reasons"), _cell("flat.resolutions"), _cell("flat.outcomes"), _cell("flat.action_items"),
    _cell("copy.insights"))
# The insight columns come from the same JSON array as NDJSON's (the stored copy, where
# there is one), taken apart in its order: 2.3 times faster than aggregating each summary's
# insights from their table. OFFSET 0 keeps the array computed once per row, not once for
# each place that uses it.
_CSV_INSIGHTS = f"""CROSS JOIN LATERAL (SELECT {_INSIGHTS_OF} AS insights OFFSET 0) AS copy
    CROSS JOIN LATERAL (SELECT {_titles('Reason')} AS reasons, {_titles('Resolution')} AS resolutions,
    {_titles('Resolution', 'outcome')} AS outcomes, {_titles('ActionItem')} AS action_items
    FROM json_array_elements(copy.insights::json) AS i) AS flat"""
# Each row one line of text, its line end included.
_CSV = " || ',' || ".join(_CSV_CELLS)
ROWS = {"ndjson": f"{_NDJSON} || E'\\n'", "csv": f"{_CSV} || E'\\r\\n'"}
JOINS = {"ndjson": "", "csv": " " + _CSV_INSIGHTS}


async def export(
    conn: asyncpg.Connection, filters: Filters, form: str, chunk_rows: int
) -> AsyncGenerator[Sequence[Any], None]:
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
