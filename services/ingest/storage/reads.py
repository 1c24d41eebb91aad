"""Reading summaries: the list with its filters and search, one summary with its insights."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import asyncpg

from services.ingest.model import COLUMN_FILTERS, Filters, Insight, ListQuery, Summary
from services.ingest.storage.writes import INSIGHT_COLUMNS

# A Summary's scalar fields are columns of the same name, read in the dataclass's order;
# snippet and rank are a search's, computed in _list_sql.
_NOT_COLUMNS = ("insights", "children", "snippet", "rank")
_COLUMNS = tuple(f.name for f in dataclasses.fields(Summary) if f.name not in _NOT_COLUMNS)
SELECT = f"SELECT {', '.join(_COLUMNS)}, '' AS snippet, 0::float8 AS rank FROM summaries"
# The query a search runs: the words stemmed in every language rows may be in.
_QUERY = " || ".join(f"websearch_to_tsquery('{c}', $q)" for c in
                     ("simple", "spanish", "english", "portuguese", "french", "german", "italian"))
_SNIPPET = "'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, MaxFragments=1'"


def list_sql(query: ListQuery) -> tuple[str, list[Any]]:
    source, where, args, own = filtered(query.filters)
    select, order, rank = f"{SELECT}{source}", "date_created DESC, id DESC", ""
    if own:
        select = (f"SELECT {', '.join(_COLUMNS)},"
                  f" ts_headline(parley_ts_config(language), summary, {own}, {_SNIPPET}) AS snippet,"
                  f" ts_rank(search, {own})::float8 AS rank FROM summaries{source}")
        if query.by_relevance:
            order, rank = "rank DESC, id DESC", f"ts_rank(search, {own})::float8"
    if query.after and query.by_relevance:
        args += [query.after.rank, query.after.id]
        where.append(f"({rank}, id) < (${len(args) - 1}, ${len(args)})")
    elif query.after:
        args += [query.after.date_created, query.after.id]
        where.append(f"(date_created, id) < (${len(args) - 1}, ${len(args)})")
    args.append(query.page_size + 1)  # one extra row tells whether another page follows
    return (f"{select}{_where_clause(where)} ORDER BY {order} LIMIT ${len(args)}",
            args)


def selected(filters: Filters, columns: str, joins: str = "", args: list[Any] | None = None) -> tuple[str, list[Any]]:
    """SELECT `columns` of the summaries the filters pick (with `joins` after FROM), and its
    arguments: `args` (a statement's earlier ones) with the filters' appended."""
    source, where, args, _ = filtered(filters, args)
    return f"SELECT {columns} FROM summaries{source}{joins}{_where_clause(where)}", args


def _where_clause(where: list[str]) -> str:
    return " WHERE " + " AND ".join(where) if where else ""


def filtered(filters: Filters, args: list[Any] | None = None) -> tuple[str, list[str], list[Any], str]:
    """What follows "FROM summaries" (the search's query, when there is one), the WHERE
    conditions, their arguments (after `args`), and each row's own search query ("" without a search)."""
    where, args = _where(filters, [] if args is None else args)
    if not filters.text:
        return "", where, args, ""
    args.append(filters.text)
    n = len(args)
    # The words stemmed in every language find candidates through the GIN index; each row
    # is then matched with its own language's query, so "refund -parcels" excludes what
    # that row's stemmer calls a parcel.
    own = f"websearch_to_tsquery(parley_ts_config(language), ${n})"
    where.append(f"search @@ candidates AND search @@ {own}")
    return f", (SELECT {_QUERY.replace('$q', f'${n}')}) AS q(candidates)", where, args, own


def _where(filters: Filters, args: list[Any]) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    for column in COLUMN_FILTERS:
        value = getattr(filters, column)
        if value:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if filters.conversation_id:
        # Every summary of the conversation: the children of the Conversation with that summaryId
        # or Genesys id, and that Conversation itself when it carries the Genesys id. (ANY(ARRAY())
        # and the OR of two indexed conditions let PostgreSQL read two indexes and merge them.)
        args.append(filters.conversation_id)
        n = len(args)
        where.append(f"(conversation_id = ANY(ARRAY(SELECT p.summary_id FROM summaries p"
                     f" WHERE p.summary_type = 'Conversation' AND (p.summary_id = ${n} OR p.genesys_conversation_id"
                     f" = ${n}))) OR (summary_type = 'Conversation' AND genesys_conversation_id = ${n}))")
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


async def with_insights(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> list[Summary]:
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
