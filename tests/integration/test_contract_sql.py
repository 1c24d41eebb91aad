"""The schema's own copies of the contract (CHECKs, the search's stemmers) agree with it."""

from __future__ import annotations

import re

import asyncpg

from parley.admin.v1 import key_service_pb2 as admin_pb
from services.common import contract
from services.ingest import languages
from services.ingest.domain import INSIGHT_TYPES, MEDIA_TYPES, SUMMARY_TYPES


async def _checks(db: asyncpg.Connection, table: str) -> list[str]:
    return [r["definition"] for r in await db.fetch(
        "SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = $1::regclass"
        " AND contype = 'c'", table)]


def _listed(checks: list[str], column: str) -> tuple[str, ...]:
    """The values a CHECK (column = ANY (ARRAY[...])) allows."""
    found = [c for c in checks if re.match(rf"CHECK \(\({column} = ANY", c)]
    assert len(found) == 1, checks
    return tuple(re.findall(r"'([^']*)'::text", found[0]))


async def test_the_checks_allow_what_the_contract_allows(db: asyncpg.Connection) -> None:
    summaries = await _checks(db, "summaries")
    assert _listed(summaries, "summary_type") == SUMMARY_TYPES
    assert _listed(summaries, "media_type") == MEDIA_TYPES
    assert _listed(await _checks(db, "insights"), "type") == INSIGHT_TYPES
    names = [c for c in await _checks(db, "api_keys") if "name ~" in c]
    pattern = contract.rules(admin_pb.CreateKeyRequest, "name").string.pattern
    assert names == [f"CHECK ((name ~ '{pattern}'::text))"]


async def test_each_language_is_searched_with_its_stemmer(db: asyncpg.Connection) -> None:
    tags = [*languages.STEMMERS, "pt-BR", "ES", "nl", "x"]
    found = {r["tag"]: r["config"] for r in await db.fetch(
        "SELECT tag, parley_ts_config(tag)::text AS config FROM unnest($1::text[]) AS tag", tags)}
    expected = {**languages.STEMMERS, "pt-BR": "portuguese", "ES": "spanish", "nl": languages.UNSTEMMED,
                "x": languages.UNSTEMMED}
    assert found == expected
    indexed = {r["indexdef"] for r in await db.fetch("SELECT indexdef FROM pg_indexes WHERE tablename = 'summaries'"
                                                      " AND indexname LIKE 'summaries_search_%'")}
    stemmers = {m.group(1) for d in indexed if (m := re.search(r"'(\w+)'::regconfig", d))}
    assert stemmers == set(languages.CONFIGS)
