"""Stats and top insights: added up from the counts PostgreSQL keeps (migration 009) where
they can answer, and from the summaries themselves where they cannot.

The counts are kept a UTC day at a time. A date range is counted in whole days from them
(and from the summaries not counted yet, still queued), and its part days at either end (a
range from 09:30) from the summaries, in one statement: the answer is exact, and at one
snapshot, either way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from services.ingest.analytics import TIME_BUCKETS, Grouping
from services.ingest.model import Filters, Stats, TopInsight
from services.ingest.storage.reads import selected


@dataclass(frozen=True)
class Counts:
    """A table of counts: what it can narrow by (Filters fields) and group by (Grouping.by)."""

    table: str
    narrows: frozenset[str]
    groups: frozenset[str]


SUMMARY_COUNTS = Counts("summary_counts",
                        frozenset({"summary_type", "media_type", "language", "generated", "insight_type", "outcome"}),
                        frozenset({"", "summary_type", "media_type", "language", "insight_type", "outcome",
                                   *TIME_BUCKETS}))
ACTOR_COUNTS = Counts("actor_counts", frozenset({"summary_type", "agent_id", "source_id"}),
                      frozenset({"", "summary_type", "agent_id", "source_id", *TIME_BUCKETS}))
TITLE_COUNTS = Counts("title_counts", frozenset({"summary_type", "media_type", "language", "generated"}),
                      frozenset({""}))

# Each grouping as (key, n) rows: over the counts, and over the summaries a filter picks ({picked}).
_COUNTED_KEYS = {"insight_type": ("k.key", " CROSS JOIN LATERAL unnest(insight_types) AS k(key)"),
                 "outcome": ("k.key", " CROSS JOIN LATERAL unnest(outcomes) AS k(key)")}
# A time bucket is keyed once per bucket, not per row: a year's day counts are some 130,000
# rows at a million summaries, and formatting a key for each took twice as long as adding
# them up. The counts are summed a day at a time first ({days}: day, n rows).
_BUCKETED = "SELECT to_char(date_trunc('{unit}', t), 'YYYY-MM-DD') AS key, sum(n) AS n FROM ({days}) AS d GROUP BY 1"
_COUNTED_DAYS = "SELECT day::timestamp AS t, sum(n) AS n FROM {table} WHERE {where} GROUP BY 1"
_PICKED_KEYS = {
    "insight_type": "SELECT i.type AS key, count(DISTINCT i.summary_pk) AS n FROM insights i"
                    " JOIN ({picked}) AS p ON p.id = i.summary_pk GROUP BY 1",
    "outcome": "SELECT i.outcome AS key, count(DISTINCT i.summary_pk) AS n FROM insights i"
               " JOIN ({picked}) AS p ON p.id = i.summary_pk WHERE i.type = 'Resolution' AND i.outcome IS NOT NULL"
               " GROUP BY 1",
    **{unit: _BUCKETED.format(unit=unit, days="SELECT date_trunc('day', date_created AT TIME ZONE 'UTC') AS t,"
                                               " count(*) AS n FROM ({picked}) AS p GROUP BY 1")
       for unit in TIME_BUCKETS},
}
# The summaries inserted and not counted yet: read from the summaries themselves.
# Driven from the queue (ARRAY first, then the primary key): a semi-join could instead walk
# every summary in the date range to find the few queued ones.
_QUEUED = "summaries.id = ANY(ARRAY(SELECT id FROM count_queue))"
_COLUMNS = ("summary_type", "media_type", "language", "agent_id", "source_id")
_NO_KEY = "''"  # the total's one group
# A Conversation has no agent: grouped by agent, it counts under "".
_PICKED_COLUMN = "SELECT coalesce({column}, '') AS key, count(*) AS n FROM ({picked}) AS p GROUP BY 1"
# Top titles as (key, title, summaries, resolved, mentions) rows. From the summaries: each
# summary counts once per key (on its first title), resolved when a Resolution has an outcome.
# A summary's insights are read once, in primary-key order, and its resolution is taken from
# the same rows: a second lookup per summary for its Resolution had been half the time.
_TITLED = """SELECT t.key, t.title, count(*) FILTER (WHERE t.first) AS summaries,
       count(*) FILTER (WHERE t.first AND t.resolved) AS resolved, sum(t.mentions) AS mentions
FROM (SELECT parley_title_key(i.title) AS key, btrim(i.title) AS title, count(*) AS mentions,
             row_number() OVER (PARTITION BY i.summary_pk, parley_title_key(i.title) ORDER BY btrim(i.title)) = 1
                 AS first,
             bool_or(i.resolved) AS resolved
      FROM (SELECT i.summary_pk, i.type, i.title,
                   bool_or(i.type = 'Resolution' AND i.outcome IS NOT NULL) OVER (PARTITION BY i.summary_pk)
                       AS resolved
            FROM insights i JOIN ({picked}) AS p ON p.id = i.summary_pk) AS i
      WHERE i.type = ${kind}
      GROUP BY i.summary_pk, 1, 2) AS t
GROUP BY 1, 2"""
_TITLE_COUNTED = """SELECT title_key AS key, title, sum(summaries) AS summaries,
       coalesce(sum(summaries) FILTER (WHERE resolved), 0) AS resolved, sum(mentions) AS mentions
FROM title_counts WHERE {where} GROUP BY 1, 2"""
# The title shown is the most frequent as written (the earliest in order among equals).
_TOP = """SELECT (array_agg(title ORDER BY mentions DESC, title))[1] AS title, sum(summaries) AS count,
       sum(resolved)::float8 / sum(summaries) AS share
FROM (SELECT key, title, sum(summaries) AS summaries, sum(resolved) AS resolved, sum(mentions) AS mentions
      FROM ({parts}) AS part GROUP BY 1, 2) AS titles
GROUP BY key HAVING sum(summaries) > 0 ORDER BY count DESC, key LIMIT ${limit}"""


async def stats(conn: asyncpg.Connection, filters: Filters, grouping: Grouping, *, counts: bool = True) -> Stats:
    """How many summaries the filters select, and their groups; `counts=False` reads the
    summaries alone (what the counts are checked against)."""
    table = _counts_for(filters, grouping.by, (SUMMARY_COUNTS, ACTOR_COUNTS)) if counts else None
    args: list[Any] = []
    total = f"SELECT sum(n) FROM ({_parts(filters, '', table, args)}) AS part"
    total_n = int(await conn.fetchval(total, *args) or 0)
    if not grouping.by:
        return Stats(total_n, [])
    args = []
    parts = _parts(filters, grouping.by, table, args)
    order = "1" if grouping.by in TIME_BUCKETS else "2 DESC, 1"
    args.append(grouping.limit)
    # Counts of deleted summaries add up to 0 until merged away: not a group.
    rows = await conn.fetch(f"SELECT key, sum(n) AS n FROM ({parts}) AS part GROUP BY 1 HAVING sum(n) <> 0"
                            f" ORDER BY {order} LIMIT ${len(args)}", *args)
    return Stats(total_n, [(str(r["key"]), int(r["n"])) for r in rows])


async def top_insights(conn: asyncpg.Connection, filters: Filters, kind: str, limit: int, *,
                       counts: bool = True) -> list[TopInsight]:
    """The most frequent insight titles of `kind` among the summaries the filters select."""
    table = _counts_for(filters, "", (TITLE_COUNTS,)) if counts else None
    args: list[Any] = [kind]
    whole, rest = _split(filters) if table else (None, [filters])
    parts = [_TITLED.format(picked=selected(f, "summaries.id", args=args)[0], kind=1) for f in rest]
    if table and whole:
        parts += [_TITLE_COUNTED.format(where=" AND ".join(["type = $1", *_counted(filters, grain, args)]))
                  for grain in _grains(whole, months=True)]
        queued = selected(_within(filters, whole), "summaries.id", args=args, also=_QUEUED)[0]
        parts.append(_TITLED.format(picked=queued, kind=1))
    args.append(limit)
    sql = _TOP.format(parts=" UNION ALL ".join(parts), limit=len(args))
    rows = await conn.fetch(sql, *args)
    return [TopInsight(kind, r["title"], int(r["count"]), float(r["share"])) for r in rows]


def _counts_for(filters: Filters, by: str, tables: tuple[Counts, ...]) -> Counts | None:
    """The first of `tables` that can narrow by every filter set and group by `by`."""
    narrowed = {f.name for f in dataclasses.fields(filters)
                if f.name not in ("date_from", "date_to") and getattr(filters, f.name) not in ("", None)}
    return next((t for t in tables if narrowed <= t.narrows and by in t.groups), None)


def _parts(filters: Filters, by: str, table: Counts | None, args: list[Any]) -> str:
    """(key, n) rows whose sums per key answer the grouping `by` ("" for the total)."""
    whole, rest = _split(filters) if table else (None, [filters])
    parts = [_picked(by, selected(f, _picked_columns(by), args=args)[0]) for f in rest]
    if table and whole:
        queued = selected(_within(filters, whole), _picked_columns(by), args=args, also=_QUEUED)[0]
        parts.append(_picked(by, queued))
        key, joins = _COUNTED_KEYS.get(by, (f"coalesce({by or _NO_KEY}, '')", ""))
        for grain in _grains(whole, months=by not in ("day", "week")):  # a day or week bucket needs days
            where = " AND ".join(_counted(filters, grain, args))
            if by in TIME_BUCKETS:
                parts.append(_BUCKETED.format(unit=by, days=_COUNTED_DAYS.format(table=table.table, where=where)))
            else:
                parts.append(f"SELECT {key} AS key, sum(n) AS n FROM {table.table}{joins} WHERE {where} GROUP BY 1")
    return " UNION ALL ".join(parts)


def _picked_columns(by: str) -> str:
    return "summaries.id, summaries.date_created" + (f", summaries.{by}" if by in _COLUMNS else "")


def _picked(by: str, picked: str) -> str:
    if by in _PICKED_KEYS:
        return _PICKED_KEYS[by].format(picked=picked)
    return _PICKED_COLUMN.format(column=by or _NO_KEY, picked=picked)


def _counted(filters: Filters, grain: Grain, args: list[Any]) -> list[str]:
    """The conditions on a table of counts: the filters' and the grain's."""
    # A month's merged row, or a day's; rows not merged yet are a day's, and count in either.
    conditions = ["(monthly OR NOT merged)" if grain.monthly else "NOT monthly"]
    for name in (*_COLUMNS, "generated"):
        value = getattr(filters, name)
        if value not in ("", None):
            args.append(value)
            conditions.append(f"{name} = ${len(args)}")
    for name, column in (("insight_type", "insight_types"), ("outcome", "outcomes")):
        if value := getattr(filters, name):
            args.append(value)
            conditions.append(f"${len(args)} = ANY({column})")
    for bound, op in zip((grain.first, grain.end), (">=", "<"), strict=True):
        if bound is not None:
            args.append(bound)
            conditions.append(f"day {op} ${len(args)}")
    return conditions


@dataclass(frozen=True)
class Grain:
    """Days [first, end) (None: open) read from a day's counts, or, monthly, from a month's."""

    monthly: bool
    first: date | None
    end: date | None


def _grains(whole: tuple[date | None, date | None], months: bool) -> list[Grain]:
    """Whole days as whole months where they can be (with `months`), days before and after."""
    first, end = whole
    if not months:
        return [Grain(False, first, end)]
    try:
        months_from = first if first is None or first.day == 1 else _next_month(first)
    except OverflowError:  # days in December 9999
        return [Grain(False, first, end)]
    months_to = end if end is None else end.replace(day=1)
    if months_from is not None and months_to is not None and months_from >= months_to:
        return [Grain(False, first, end)]
    grains = [Grain(True, months_from, months_to)]
    if first is not None and months_from is not None and months_from > first:
        grains.append(Grain(False, first, months_from))
    if end is not None and months_to is not None and months_to < end:
        grains.append(Grain(False, months_to, end))
    return grains


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _split(filters: Filters) -> tuple[tuple[date | None, date | None] | None, list[Filters]]:
    """The whole UTC days [first, end) within the filters' date range (None bounds: open;
    None: no whole day), and the filters for the rest of the range, its part days."""
    try:
        first = _day_on_or_after(filters.date_from)
    except OverflowError:
        return None, [filters]
    end = filters.date_to.astimezone(UTC).date() if filters.date_to else None
    if first and end and first >= end:
        return None, [filters]
    rest = []
    if first and filters.date_from and _midnight(first) > filters.date_from:
        rest.append(dataclasses.replace(filters, date_to=_midnight(first)))
    if end and filters.date_to and _midnight(end) < filters.date_to:
        rest.append(dataclasses.replace(filters, date_from=_midnight(end)))
    return (first, end), rest


def _within(filters: Filters, whole: tuple[date | None, date | None]) -> Filters:
    """The filters, over the whole days only."""
    first, end = whole
    return dataclasses.replace(filters, date_from=_midnight(first) if first else None,
                               date_to=_midnight(end) if end else None)


def _day_on_or_after(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return utc.date() if utc.time() == time() else utc.date() + timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)
