"""Writing summaries: one statement stores a batch, its insights and its search text."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.common.errors import ParleyError
from services.ingest.errors import (
    ChangedWhileStoring,
    ContentConflict,
    GenesysIdTaken,
    MissingParent,
    ParentDeleted,
)
from services.ingest.model import Batch, Created

# The entity attributes stored as columns of the same name, in INSERT_SQL's order.
ENTITY_COLUMNS = (
    "summary_id", "summary_type", "media_type", "language", "agent_id", "source_id",
    "summary", "generated", "date_created",
)
INSIGHT_COLUMNS = ("type", "title", "description", "outcome")

# A batch is stored by one call of parley_store (migration 013): its 20 array arguments are
# the summaries' 14 columns, then the insights' 6 (insert_columns). Its plan is made once per
# connection; see the migration for why it is a function.
_ARGUMENT_TYPES = ("text[]",) * 7 + ("bool[]", "timestamptz[]", "text[]", "text[]", "bytea[]", "text[]", "text[]",
                                     "text[]", "int[]") + ("text[]",) * 4
# Public: the benchmark's Node reference runs this same statement.
INSERT_SQL = ("SELECT id, summary_id FROM parley_store("
              + ", ".join(f"${n}::{kind}" for n, kind in enumerate(_ARGUMENT_TYPES, 1)) + ")")
# An import's chunk: the same columns, copied first into two temporary tables (COPY's
# binary protocol, no statement to plan per row), emptied again at COMMIT.
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS import_summaries (summary_id text, summary_type text, media_type text,"
    " language text, agent_id text, source_id text, summary text, generated bool, date_created timestamptz,"
    " conversation_id text, genesys_conversation_id text, content_hash bytea, insight_text text, insights_json text,"
    " ord bigint)"
    " ON COMMIT DELETE ROWS;"
    " CREATE TEMP TABLE IF NOT EXISTS import_insights (summary_id text, position int, type text, title text,"
    " description text, outcome text) ON COMMIT DELETE ROWS"
)
# The summaries' arrays of insert_columns, by column name; the insights' follow.
_STAGED_SUMMARIES = (*ENTITY_COLUMNS, "conversation_id", "genesys_conversation_id", "content_hash", "insight_text",
                     "insights_json")
_SUMMARY_ARRAYS = len(_STAGED_SUMMARIES)
_STAGED_INSIGHTS = ("summary_id", "position", *INSIGHT_COLUMNS)
# The staged rows handed to parley_store as its arrays, the summaries in the order copied.
IMPORT_SQL = (
    "SELECT r.id, r.summary_id FROM"
    f" (SELECT {', '.join(f'array_agg({c} ORDER BY ord)' for c in _STAGED_SUMMARIES)} FROM import_summaries)"
    f" AS s({', '.join(f's{n}' for n in range(len(_STAGED_SUMMARIES)))}),"
    f" (SELECT {', '.join(f'array_agg({c})' for c in _STAGED_INSIGHTS)} FROM import_insights)"
    f" AS i({', '.join(f'i{n}' for n in range(len(_STAGED_INSIGHTS)))}),"
    f" parley_store({', '.join(f's{n}' for n in range(len(_STAGED_SUMMARIES)))},"
    f" {', '.join(f'i{n}' for n in range(len(_STAGED_INSIGHTS)))}) AS r"
)


async def create(conn: asyncpg.Connection, batch: Batch, *, staged: bool = False) -> Created:
    """Stores the batch with one statement; `staged` copies it into temporary tables first
    (the caller's transaction must be open: COMMIT empties them)."""
    columns = insert_columns(batch, parent_links(batch, await stored_parents(conn, batch.outside_parents)))
    try:
        if staged:
            await conn.execute(_STAGING)
            await conn.copy_records_to_table(
                "import_summaries",
                records=zip(*columns[:_SUMMARY_ARRAYS], range(1, len(batch.entities) + 1), strict=True))
            await conn.copy_records_to_table("import_insights", records=zip(*columns[_SUMMARY_ARRAYS:], strict=True))
            rows = await conn.fetch(IMPORT_SQL)
        else:
            rows = await conn.fetch(INSERT_SQL, *columns)
    except (asyncpg.ForeignKeyViolationError, asyncpg.UniqueViolationError) as exc:
        raise (refusal(exc) or exc) from None
    ids = {r["summary_id"]: r["id"] for r in rows}
    inserted = len(ids)
    if inserted < len(batch.entities):
        pending = [e.summary_id for e in batch.entities if e.summary_id not in ids]
        ids.update(replayed(batch, ids, await stored_hashes(conn, pending)))
    return Created(ids=ids, inserted=inserted)


def refusal(exc: asyncpg.IntegrityConstraintViolationError) -> ParleyError | None:
    """What one of INSERT_SQL's constraint violations means to the client, if it is one the
    client can cause."""
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return ParentDeleted()
    if isinstance(exc, asyncpg.UniqueViolationError) and exc.constraint_name == "summaries_genesys_conversation_key":
        return GenesysIdTaken()
    return None


def insert_columns(batch: Batch, links: dict[int, str]) -> list[list[Any]]:
    """INSERT_SQL's 20 array arguments: the summaries' columns, their parents' summary ids and
    Genesys ids, their hashes, the text of their insights (for search) and the insights as
    an export writes them, then the insights'. `links` has each child's parent summary_id by
    the child's index."""
    columns: list[list[Any]] = [[getattr(e, name) for e in batch.entities] for name in ENTITY_COLUMNS]
    columns.append([links.get(i) for i in range(len(batch.entities))])
    # As sent, where it is not the parent's summary_id: a Conversation's or a child's Genesys id.
    columns.append([e.conversation_id if e.conversation_id != links.get(i) else None
                    for i, e in enumerate(batch.entities)])
    columns.append(list(batch.hashes))
    columns.append([" ".join(f"{i.title} {i.description}" for i in e.insights) for e in batch.entities])
    columns.append([insights_json(e.insights) for e in batch.entities])
    insights: list[list[Any]] = [[] for _ in range(2 + len(INSIGHT_COLUMNS))]
    for entity in batch.entities:
        for position, insight in enumerate(entity.insights):
            values = (entity.summary_id, position, *(getattr(insight, name) for name in INSIGHT_COLUMNS))
            for column, value in zip(insights, values, strict=True):
                column.append(value)
    return columns + insights


def insights_json(insights: Sequence[Any]) -> str:
    """The insights as an NDJSON export writes them (storage/bulk.py): type, title,
    description, and outcome where there is one."""
    return json.dumps([{"type": i.type, "title": i.title, "description": i.description,
                        **({"outcome": i.outcome} if i.outcome is not None else {})} for i in insights],
                      ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Parents:
    """Stored summaries that children name: each one's type by summary_id, and the
    Conversations' summary_ids by their Genesys conversation id."""

    types: dict[str, str]
    by_genesys: dict[str, str]


async def stored_parents(conn: asyncpg.Connection, refs: Collection[str]) -> Parents:
    """The stored summaries that `refs` name, by summary_id or by Genesys conversation id."""
    if not refs:
        return Parents({}, {})
    rows = await conn.fetch(
        "SELECT summary_id, summary_type, genesys_conversation_id FROM summaries"
        " WHERE summary_id = ANY($1::text[])"
        " OR (summary_type = 'Conversation' AND genesys_conversation_id = ANY($1::text[]))",
        list(refs),
    )
    return Parents({r["summary_id"]: r["summary_type"] for r in rows},
                   {r["genesys_conversation_id"]: r["summary_id"] for r in rows if r["genesys_conversation_id"]})


def parent_links(batch: Batch, stored: Parents) -> dict[int, str]:
    """Each child's parent summary_id by the child's index: the batch's own, or the stored
    one the child names, found by summary_id or else by Genesys conversation id."""
    if not batch.outside_parents:
        return dict(batch.inside_links)
    parents: dict[str, str] = {}
    for ref, index in batch.outside_parents.items():
        found = stored.types.get(ref, "Conversation")
        if found != "Conversation":  # a summaryId wins over a Genesys id
            raise MissingParent(index, ref, found)
        parent = ref if ref in stored.types else stored.by_genesys.get(ref)
        if parent is None:
            raise MissingParent(index, ref, None)
        parents[ref] = parent
    return {**batch.inside_links, **{i: parents[e.conversation_id] for i, e in enumerate(batch.entities)
                                     if e.is_child and i not in batch.inside_links and e.conversation_id in parents}}


async def stored_hashes(conn: asyncpg.Connection, summary_ids: Collection[str]) -> dict[str, tuple[int, bytes]]:
    """The id and content hash of each of these summaries that is stored."""
    rows = await conn.fetch(
        "SELECT id, summary_id, content_hash FROM summaries WHERE summary_id = ANY($1::text[])", list(summary_ids)
    )
    return {r["summary_id"]: (r["id"], r["content_hash"]) for r in rows}


def replayed(batch: Batch, inserted: Collection[str], stored: dict[str, tuple[int, bytes]]) -> dict[str, int]:
    """Ids of the entities not `inserted` that are stored with identical content; any other
    difference is a conflict."""
    ids: dict[str, int] = {}
    for entity, digest in zip(batch.entities, batch.hashes, strict=True):
        if entity.summary_id in inserted:
            continue
        if entity.summary_id not in stored:
            raise ChangedWhileStoring()
        id_, stored_digest = stored[entity.summary_id]
        if stored_digest != digest:
            raise ContentConflict(entity.summary_id)
        ids[entity.summary_id] = id_
    return ids
