"""Reading summaries: the list with its filters and search, one summary with its insights."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import asyncpg

from services.ingest.languages import CONFIGS
from services.ingest.model import COLUMN_FILTERS, Filters, Insight, ListQuery, Summary
from services.ingest.storage.writes import INSIGHT_COLUMNS

# A Summary's scalar fields are columns of the same name, read in the dataclass's order;
# snippet and rank are a search's, computed with its query.
_NOT_COLUMNS = ("insights", "children", "snippet", "rank")
_COLUMNS = tuple(f.name for f in dataclasses.fields(Summary) if f.name not in _NOT_COLUMNS)
SELECT = f"SELECT {', '.join(_COLUMNS)}, '' AS snippet, 0::float8 AS rank FROM summaries"
_SNIPPET = "'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, MaxFragments=1'"
_NEWEST = " ORDER BY date_created DESC, id DESC"
# A search is answered one of two ways: walking the summaries the other filters pick in list
# order until enough match (best for common words), or reading every match through the GIN
# index (best for rare ones). PostgreSQL's estimates cannot tell the two apart (a phrase in
# 7% of the rows and a word in none look alike to it), so Storage.list walks first, at most
# WALK_ROWS summaries, and reads the index when that found too few. Newest first, it walks
# PROBE_ROWS first: where they hold no match at all the words are rare, and the index
# answers at once (a search that matches nothing had walked the whole 10,000, 12 ms).
WALK_ROWS = 10_000
PROBE_ROWS = 1_000
# orderBy=relevance ranks the newest RANKED matches: bounded work, however common the words.
RANKED = 200


def list_sql(query: ListQuery, *, walk: int = 0) -> tuple[str, list[Any]]:
    """A page of the list, with one extra row that tells whether another page follows. A
    search with `walk` reads at most the newest `walk` summaries the other filters pick
    (and, ordered by relevance, answers nothing unless it found RANKED matches there); with
    0 it reads every match through the index."""
    filters = query.filters
    where, args = _where(filters, [])
    if query.after and not query.by_relevance:
        args += [query.after.date_created, query.after.id]
        where.append(f"(date_created, id) < (${len(args) - 1}, ${len(args)})")
    if not filters.text:
        # The page's ids first, then their rows: the ids come from the filters' indexes alone
        # where they hold every filter column (migration 012), without reading the rows the
        # other filters turn down.
        args.append(query.page_size + 1)
        ids = f"SELECT id FROM summaries{_where_clause(where)}{_NEWEST} LIMIT ${len(args)}"
        return f"{SELECT} WHERE id = ANY(ARRAY({ids})){_NEWEST}", args
    match, own = _search(filters, args)
    if walk:
        newest = f"SELECT * FROM summaries{_where_clause(where)}{_NEWEST} LIMIT {int(walk)}"
        rows = f"({newest}) AS summaries WHERE {match}"
    else:
        # Every match through the GIN index, then the newest of them. (OFFSET 0 keeps the planner
        # from walking the date index for the LIMIT instead: it expects a word outside its
        # statistics in 200 rows of a million, meets it in none, and reads them all: 1.3 s.)
        rows = f"(SELECT * FROM summaries{_where_clause([*where, match])} OFFSET 0) AS summaries"
    columns = ", ".join(_COLUMNS)
    snippet = f"ts_headline(parley_ts_config(language), summary, {own}, {_SNIPPET}) AS snippet"
    matches = f"FROM {rows}{_NEWEST}"
    if not query.by_relevance:
        args.append(query.page_size + 1)
        return f"SELECT {columns}, {snippet}, ts_rank(search, {own})::float8 AS rank {matches} LIMIT ${len(args)}", args
    ranked: list[str] = []
    if query.after:
        args += [query.after.rank, query.after.id]
        ranked.append(f"(rank, id) < (${len(args) - 1}, ${len(args)})")
    if walk:
        ranked.append(f"(SELECT count(*) FROM newest) = {RANKED}")
    args.append(query.page_size + 1)
    return (f"WITH newest AS MATERIALIZED (SELECT {columns}, ts_rank(search, {own})::float8 AS rank {matches}"
            f" LIMIT {RANKED}) SELECT {columns}, {snippet}, rank FROM newest{_where_clause(ranked)}"
            f" ORDER BY rank DESC, id DESC LIMIT ${len(args)}", args)


def selected(filters: Filters, columns: str, joins: str = "", args: list[Any] | None = None,
             also: str = "") -> tuple[str, list[Any]]:
    """SELECT `columns` of the summaries the filters (and the condition `also`) pick, with
    `joins` after FROM, and its arguments: `args` (a statement's earlier ones) with the
    filters' appended."""
    where, args = filtered(filters, args)
    if also:
        where.append(also)
    return f"SELECT {columns} FROM summaries{joins}{_where_clause(where)}", args


def _where_clause(where: list[str]) -> str:
    return " WHERE " + " AND ".join(where) if where else ""


def filtered(filters: Filters, args: list[Any] | None = None) -> tuple[list[str], list[Any]]:
    """The WHERE conditions of the filters and their search, and the arguments (after `args`)."""
    where, args = _where(filters, [] if args is None else args)
    if filters.text:
        where.append(_search(filters, args)[0])
    return where, args


def _search(filters: Filters, args: list[Any]) -> tuple[str, str]:
    """A search for the filters' text: the condition a row matches it by (which the indexes
    can answer), and the row's own query (its language's) for its rank and snippet."""
    args.append(filters.text)
    n = len(args)
    if filters.language:
        # Every row is in that language: its stemmer's index alone finds them.
        args.append(filters.language)
        own = f"websearch_to_tsquery(parley_ts_config(${n + 1}), ${n})"
        return f"parley_ts_config(language) = parley_ts_config(${n + 1}) AND search @@ {own}", own
    # Each row is matched with its own language's query, so "refund -parcels" excludes what
    # that row's stemmer calls a parcel. Each arm of the OR reads its stemmer's index
    # (migration 010), and a row already read tests its words before its language. The
    # CASE picks a row's query among constants: a plan for the given text folds each arm.
    queries = [(f"'{c}'::regconfig", f"websearch_to_tsquery('{c}', ${n})") for c in CONFIGS]
    arms = " OR ".join(f"(parley_ts_config(language) = {c} AND search @@ {q})" for c, q in queries)
    own = f"(CASE parley_ts_config(language) {' '.join(f'WHEN {c} THEN {q}' for c, q in queries)} END)"
    return f"({arms})", own


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
