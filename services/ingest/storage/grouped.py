"""Group commit: single-entity creates that arrive while others are being written wait, and
go to PostgreSQL together, as one statement and one commit.

A one-row INSERT costs PostgreSQL about as much as a ten-row one (parsing, planning, the
executor's set-up, the WAL flush at commit), so under load the requests that queue behind a
statement in flight share the next one. A request that finds a writer free goes at once,
alone: grouping adds no wait, it only fills the wait there already was.

Each request keeps its own answer. Only single-entity batches are grouped: one row is
atomic by itself, so a member whose row is skipped (a replay or a conflict) has stored
nothing, and the others' rows stand. A statement that fails (a constraint, a value
PostgreSQL refuses) is written again member by member, so only the member that caused it
hears of it. Two members with the same summaryId never share a statement: the later waits
for the next one, where it is a replay or a conflict as it would be on its own.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import asyncpg

from services.common import metrics
from services.common.errors import ParleyError
from services.ingest.model import Batch, Created
from services.ingest.storage import failures, writes

Connect = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


@dataclass(slots=True)
class _Waiting:
    batch: Batch
    answer: asyncio.Future[Created] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def summary_id(self) -> str:
        return self.batch.entities[0].summary_id


class GroupCommit:
    """Writes single-entity batches, `writers` statements at most at once (each holds a pooled
    connection while it runs), `most` entities a statement. The queue is bounded by the
    RPCs the server admits at once."""

    def __init__(self, connect: Connect, *, writers: int, most: int = 100) -> None:
        self._connect = connect
        self._writers = writers
        self._most = most
        self._queue: collections.deque[_Waiting] = collections.deque()
        self._busy = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def create(self, batch: Batch) -> Created:
        if len(batch.entities) != 1:
            raise ValueError("only single-entity batches are written together")
        waiting = _Waiting(batch)
        self._queue.append(waiting)
        if self._busy < self._writers:
            self._busy += 1
            task = asyncio.create_task(self._write())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            return await asyncio.shield(waiting.answer)
        except asyncio.CancelledError:
            # Still queued: it never goes. Already taken: it is stored (or refused) all the same,
            # as a statement already sent would be.
            with contextlib.suppress(ValueError):
                self._queue.remove(waiting)
            raise

    async def _write(self) -> None:
        group: list[_Waiting] = []
        try:
            while self._queue:
                # The members are taken once there is a connection to write them with, so a
                # request cancelled while the pool is busy is never stored.
                try:
                    async with self._connect() as conn:
                        group = self._take()
                        metrics.GROUPED_ENTITIES.observe(len(group))
                        outcomes = await _store(conn, [w.batch for w in group])
                except Exception as exc:  # no connection, or it failed: everyone's answer
                    group = group or self._take()
                    outcomes = [exc] * len(group)
                for waiting, outcome in zip(group, outcomes, strict=True):
                    if waiting.answer.done():
                        continue
                    if isinstance(outcome, Created):
                        waiting.answer.set_result(outcome)
                    else:
                        waiting.answer.set_exception(outcome)
                group = []
        finally:
            self._busy -= 1
            for waiting in group:  # cancelled (the server stopping) while writing
                waiting.answer.cancel()

    def _take(self) -> list[_Waiting]:
        """The next statement's members, oldest first, one per summaryId."""
        group: list[_Waiting] = []
        later: list[_Waiting] = []
        ids: set[str] = set()
        while self._queue and len(group) < self._most:
            waiting = self._queue.popleft()
            if waiting.summary_id in ids:
                later.append(waiting)
            else:
                ids.add(waiting.summary_id)
                group.append(waiting)
        self._queue.extendleft(reversed(later))
        return group


async def _store(conn: asyncpg.Connection, batches: list[Batch]) -> list[Created | Exception]:
    """Stores one-entity batches with one statement; each one's answer, in order."""
    outcomes: dict[int, Created | Exception] = {}
    stored = await writes.stored_parents(conn, {ref for b in batches for ref in b.outside_parents})
    ready: dict[int, tuple[Batch, dict[int, str]]] = {}
    for index, batch in enumerate(batches):
        try:
            ready[index] = batch, writes.parent_links(batch, stored)
        except ParleyError as exc:
            outcomes[index] = exc
    if ready:
        outcomes |= await _insert(conn, ready)
    return [outcomes[index] for index in range(len(batches))]


async def _insert(conn: asyncpg.Connection, ready: dict[int, tuple[Batch, dict[int, str]]]
                  ) -> dict[int, Created | Exception]:
    parts = zip(*(writes.insert_columns(batch, links) for batch, links in ready.values()), strict=True)
    try:
        rows = await conn.fetch(writes.INSERT_SQL, *(list(itertools.chain.from_iterable(p)) for p in parts))
    except failures.UNAVAILABLE:
        raise
    except asyncpg.PostgresError:
        # One member's doing (a parent just deleted, a Genesys id taken, a value refused):
        # each on its own, so only that one hears of it.
        return {index: await _alone(conn, batch) for index, (batch, _) in ready.items()}
    ids = {r["summary_id"]: r["id"] for r in rows}
    late = [b.entities[0].summary_id for b, _ in ready.values() if b.entities[0].summary_id not in ids]
    hashes = await writes.stored_hashes(conn, late) if late else {}
    outcomes: dict[int, Created | Exception] = {}
    for index, (batch, _) in ready.items():
        summary_id = batch.entities[0].summary_id
        try:
            outcomes[index] = (Created({summary_id: ids[summary_id]}, 1) if summary_id in ids
                               else Created(writes.replayed(batch, (), hashes), 0))
        except ParleyError as exc:
            outcomes[index] = exc
    return outcomes


async def _alone(conn: asyncpg.Connection, batch: Batch) -> Created | Exception:
    try:
        return await writes.create(conn, batch)
    except ParleyError as exc:
        return exc
    except Exception as exc:
        return failures.translated(exc) or exc

