"""Managing API keys in PostgreSQL: create, list, revoke, rotate. The admin RPCs and the
CLI (`python -m parley keys`) both call these; only digests are ever stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from parley.admin.v1 import key_service_pb2 as pb
from services.common import contract
from services.common.errors import AlreadyExists, InvalidArgument, NotFound
from services.common.keys import SCOPES, digest, new_key

_NAME = contract.pattern(pb.CreateKeyRequest, "name")
_MAX_DAYS = contract.int_range(pb.CreateKeyRequest, "expires_in_days")[1]
_COLUMNS = "name, scopes, create_time, last_used_at, expires_at, revoked_at"


@dataclass(frozen=True)
class KeyInfo:
    name: str
    scopes: list[str]
    create_time: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


def _info(row: asyncpg.Record) -> KeyInfo:
    return KeyInfo(row["name"], list(row["scopes"]), row["create_time"], row["last_used_at"],
                   row["expires_at"], row["revoked_at"])


def check(name: str, scopes: Sequence[str], expires_in_days: int) -> None:
    if not _NAME.search(name):
        raise InvalidArgument("name must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not scopes:
        raise InvalidArgument(f"scopes must name at least one of {', '.join(SCOPES)}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidArgument(f"unknown scope {unknown[0]}; scopes are {', '.join(SCOPES)}")
    if not 0 <= expires_in_days <= _MAX_DAYS:
        raise InvalidArgument(f"expiresInDays must be between 0 (no expiry) and {_MAX_DAYS}")


async def create(conn: asyncpg.Connection, name: str, scopes: Sequence[str],
                 expires_in_days: int = 0) -> tuple[KeyInfo, str]:
    """A new key: its record, and the key itself (shown once)."""
    check(name, scopes, expires_in_days)
    secret = new_key()
    expires = timedelta(days=expires_in_days) if expires_in_days else None
    try:
        row = await conn.fetchrow(
            f"INSERT INTO api_keys (name, key_hash, scopes, expires_at) VALUES ($1, $2, $3, now() + $4)"
            f" RETURNING {_COLUMNS}", name, digest(secret), sorted(set(scopes)), expires)
    except asyncpg.UniqueViolationError:
        raise AlreadyExists(f"A key named '{name}' already exists; rotate it or choose another name") from None
    return _info(row), secret


async def listing(conn: asyncpg.Connection) -> list[KeyInfo]:
    return [_info(r) for r in await conn.fetch(f"SELECT {_COLUMNS} FROM api_keys ORDER BY name")]


async def revoke(conn: asyncpg.Connection, name: str) -> KeyInfo:
    row = await conn.fetchrow(
        f"UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE name = $1 RETURNING {_COLUMNS}", name)
    if row is None:
        raise NotFound(f"No key named '{name}'")
    return _info(row)


async def rotate(conn: asyncpg.Connection, name: str) -> tuple[KeyInfo, str]:
    """A new secret for a live key; the old one stops working (revoked keys stay revoked)."""
    secret = new_key()
    row = await conn.fetchrow(
        f"UPDATE api_keys SET key_hash = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING {_COLUMNS}",
        name, digest(secret))
    if row is None:
        raise NotFound(f"No live key named '{name}'")
    return _info(row), secret
