"""API keys: who a request is (a Principal with scopes), from PostgreSQL or the bootstrap settings.

Keys are stored only as SHA-256 digests (a key is 32 random bytes, so a fast hash is
enough). Verdicts are cached for `cache_seconds`, unknown keys included, so a revoked
key stops working within that delay on every replica and a flood of wrong keys never
reaches the database.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import asyncpg

from parley.admin.v1 import key_service_pb2 as admin_pb
from services.common import contract
from services.common.errors import Unavailable

log = logging.getLogger("parley.keys")

SCOPES = contract.string_in(admin_pb.CreateKeyRequest, "scopes")
KEY_PREFIX = "pk_"

# The key name of the request being served, for every log line it causes (never the key).
current_key: contextvars.ContextVar[str] = contextvars.ContextVar("current_key", default="-")
# Who makes the call being served (None before the key is judged).
current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("current_principal", default=None)
# The gateway's x-request-id of the request being served (one of our own for direct gRPC).
current_request: contextvars.ContextVar[str] = contextvars.ContextVar("current_request", default="-")


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class Presented:
    key: str
    # The Basic-auth username: the caller's own label for itself, logged beside the key's name.
    client: str = ""


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


# Where a service reads credentials from: ingest takes `x-api-key` (its spec) and Basic
# (Genesys's other option); synth takes Bearer (its spec) and Basic.
INGEST_FORMS = frozenset({"x-api-key", "basic"})
SYNTH_FORMS = frozenset({"bearer", "basic"})


def presented(metadata: Mapping[str, str], forms: frozenset[str]) -> Presented | None:
    """The credential of a request, from the `forms` this service accepts: `x-api-key`,
    `Authorization: Bearer <key>`, `Authorization: Basic base64(client:key)`."""
    if "x-api-key" in forms and (key := metadata.get("x-api-key", "").strip()):
        return Presented(key)
    scheme, _, value = metadata.get("authorization", "").strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme not in forms or not value:
        return None
    if scheme == "bearer":
        return Presented(value)
    if scheme == "basic":
        try:
            client, _, key = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Presented(key, client) if key else None
    return None


class KeyStore:
    def __init__(self, bootstrap: Iterable[tuple[str, Principal]], pool: asyncpg.Pool | None,
                 cache_seconds: float = 2.0, timeout: float = 5.0) -> None:
        self._bootstrap = [(digest(key), principal) for key, principal in bootstrap if key]
        self._pool = pool
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._cache: dict[bytes, tuple[Principal | None, float]] = {}
        self._used: set[str] = set()

    async def principal(self, key: str) -> Principal | None:
        """Who `key` is, or None for a key that is unknown, revoked or expired."""
        hashed = digest(key)
        for known, principal in self._bootstrap:  # every one compared: timing tells nothing
            if hmac.compare_digest(known, hashed):
                return principal
        cached = self._cache.get(hashed)
        now = time.monotonic()
        if cached and cached[1] > now:
            found = cached[0]
        else:
            found = await self._lookup(hashed)
            if len(self._cache) > 100_000:  # bounded: a flood of distinct wrong keys
                self._cache.clear()
            self._cache[hashed] = (found, now + self._cache_seconds)
        if found:
            self._used.add(found.name)
        return found

    async def _lookup(self, hashed: bytes) -> Principal | None:
        if self._pool is None:
            return None
        try:
            row = await self._pool.fetchrow(
                "SELECT name, scopes FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
                " AND (expires_at IS NULL OR expires_at > now())", hashed, timeout=self._timeout)
        except asyncpg.UndefinedTableError:
            return None  # not migrated yet: only the bootstrap keys exist
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("key store unavailable: %s", type(exc).__name__)
            raise Unavailable("Database unavailable") from None
        return Principal(row["name"], frozenset(row["scopes"])) if row else None

    async def record_use(self) -> None:
        """Writes last_used_at for the keys used since the last call (one statement, not one per request)."""
        if not self._used or self._pool is None:
            return
        names, self._used = list(self._used), set()
        await self._pool.execute("UPDATE api_keys SET last_used_at = now() WHERE name = ANY($1::text[])", names)

    async def keep_recording(self, interval: float = 30.0) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.record_use()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("could not record key use: %s", type(exc).__name__)


def bootstrap_keys(keys: Iterable[str], name: str, scopes: Iterable[str]) -> list[tuple[str, Principal]]:
    """Keys from a setting (INGEST_API_KEYS, SYNTH_API_TOKENS), named `name-1`, `name-2`..."""
    granted = frozenset(scopes)
    return [(key, Principal(f"{name}-{i}", granted)) for i, key in enumerate(keys, 1)]
