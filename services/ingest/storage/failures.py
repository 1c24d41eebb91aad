"""What the database's failures mean to a client, decided in one place."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from services.common.errors import InvalidArgument, ParleyError, Unavailable

log = logging.getLogger("parley.ingest.storage")

# Every way the database can be away or refusing work: the client gets 503 and
# the pool reconnects on its own once PostgreSQL is back.
UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,  # also: no pooled connection free within the acquire timeout
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # e.g. the connection lost in the middle of COMMIT
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


def translated(exc: BaseException) -> ParleyError | None:
    """The client's error for a database failure, or None where it is not one of those."""
    if isinstance(exc, UNAVAILABLE):
        log.warning("database unavailable: %s", type(exc).__name__)
        return Unavailable("Database unavailable")
    if isinstance(exc, asyncpg.DataError):
        # Validation keeps these out; if one gets through, it is still the request's fault.
        log.warning("database refused a value: %s", type(exc).__name__)
        return InvalidArgument("A value in the request cannot be stored")
    return None
