"""Rules for single values, the same wherever a value arrives (body, path or query): ids,
timestamps, language tags, text. Each check returns the problem as words, or None."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from parley.ingest.v1 import ingest_service_pb2 as pb
from services.common import contract

ID_MAX = contract.max_len(pb.ConversationEntity, "summary_id")
TEXT_MAX = contract.max_len(pb.ConversationEntity, "summary")

# The accepted dateCreated range. Outside it PostgreSQL would store +-infinity or
# Python could not represent the instant in UTC.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive
TIMESTAMP_HINT = "must be an ISO 8601 timestamp with a zone, e.g. 2025-12-23T15:30:00.000Z"
TIMESTAMP_RANGE = "must be from 1900-01-01T00:00:00Z up to (not including) 9999-01-01T00:00:00Z"

# A summaryId is part of a URL path (/api/conversations/{summaryId}): it must survive that.
ID_RULE = "must be 1-255 printable characters with no surrounding whitespace"
PATH_ID_RULE = ID_RULE + ", no '/' or '\\', and not '.' or '..'"

# What a Genesys Velocity template leaves behind when an input is null:
# "${input.summary}" or "$esc.jsonString(${input.summary})".
_VELOCITY = re.compile(r"\$!?\{?\s*(input|esc)\.")
_LANGUAGE = contract.pattern(pb.ConversationEntity, "language")
_LANGUAGE_MAX = contract.max_len(pb.ConversationEntity, "language")
# "Printable" is the contract's pattern: no control characters (C0, DEL, C1).
_PATH_ID = contract.pattern(pb.ConversationEntity, "summary_id")
_PLAIN_ID = contract.pattern(pb.ConversationEntity, "source_id")


def id_problem(value: str, *, in_paths: bool) -> str | None:
    """Why `value` cannot be an id; `in_paths` for ids that appear in URL paths (summaryId)."""
    rule, problem = (_PATH_ID, PATH_ID_RULE) if in_paths else (_PLAIN_ID, ID_RULE)
    return None if len(value) <= ID_MAX and rule.search(value) else problem


def text_problem(value: str) -> str | None:
    """Free text may hold any character PostgreSQL's text type can: all but NUL."""
    return "must not contain the NUL character (\\u0000)" if "\x00" in value else None


def lookup_problem(value: str, longest: int = ID_MAX) -> str | None:
    """What makes a value to look up or filter by unusable: too long, or a NUL that no stored
    value can hold. Anything else could have been stored, by today's rules or earlier ones."""
    if len(value) > longest:
        return f"must be at most {longest} characters"
    return text_problem(value)


def language_problem(value: str) -> str | None:
    valid = len(value) <= _LANGUAGE_MAX and _LANGUAGE.search(value)
    return None if valid else "must be a language tag such as es, en or pt-BR"


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a zone, in UTC; None for anything else."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            return None
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: a zone that pushes the instant past year 9999
        return None


def timestamp_problem(value: Any) -> tuple[datetime | None, str | None]:
    """The instant in UTC and None, or None and why `value` is not an accepted timestamp."""
    try:
        written = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        written = None
    if written is None or written.tzinfo is None:
        return None, TIMESTAMP_HINT
    try:
        parsed = written.astimezone(UTC)
    except OverflowError:
        return None, TIMESTAMP_RANGE
    if not EARLIEST <= parsed < LATEST:
        return None, TIMESTAMP_RANGE
    return parsed, None


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds. Robust to any stored value: asyncpg reads
    PostgreSQL's +-infinity as naive datetime.max/min, which are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def velocity_leftover(value: Any) -> str | None:
    """Why `value` is Velocity text Genesys left unrendered, or None."""
    if isinstance(value, str) and _VELOCITY.search(value):
        return f"holds an unrendered Genesys template ({value[:60]}): the Data Action input was empty"
    return None
