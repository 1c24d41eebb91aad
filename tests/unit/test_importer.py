"""The import's pipeline on its own: a chunk is stored while the next is read, in the file's
order, and an import that stops for any reason leaves no store running. (Storage itself is
the e2e tests': tests/e2e/test_import.py.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from services.common.errors import InvalidArgument
from services.ingest import importer
from services.ingest.model import Batch, Created
from tests.factories import conversation


def lines(n: int) -> list[bytes]:
    return [json.dumps(conversation(f"c-{i}")).encode() + b"\n" for i in range(n)]


class Recorder:
    """A store that records what it was given and when, and can be held."""

    def __init__(self) -> None:
        self.stored: list[list[str]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.cancelled = False
        self.running = 0

    async def __call__(self, batch: Batch) -> Created:
        self.running += 1
        assert self.running == 1, "two chunks stored at once"
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.running -= 1
        self.stored.append([e.summary_id for e in batch.entities])
        return Created({}, len(batch.entities))


async def test_the_next_chunk_is_read_while_one_is_stored() -> None:
    store, read = Recorder(), []
    store.release.clear()

    async def body() -> AsyncIterator[bytes]:
        for n, line in enumerate(lines(7)):
            read.append(n)
            yield line

    running = asyncio.create_task(importer.run(body(), store, chunk_lines=3, max_line_bytes=10_000))
    await store.started.wait()
    await asyncio.sleep(0.05)
    # The first chunk is held in its store; the second was read meanwhile, and the reading
    # waits there (at most two chunks held).
    assert store.stored == [] and read == [0, 1, 2, 3, 4, 5]
    store.release.set()
    progress = await running
    assert store.stored == [["c-0", "c-1", "c-2"], ["c-3", "c-4", "c-5"], ["c-6"]]
    assert (progress.lines, progress.chunks, progress.last_line) == (7, 3, 7)


async def test_a_bad_line_waits_for_the_chunk_before_it() -> None:
    store = Recorder()

    async def body() -> AsyncIterator[bytes]:
        for line in lines(4):
            yield line
        yield b"{nope\n"

    with pytest.raises(InvalidArgument) as raised:
        await importer.run(body(), store, chunk_lines=3, max_line_bytes=10_000)
    assert raised.value.message.startswith("Line 5 is not valid JSON")
    assert raised.value.message.endswith("Lines up to 3 were stored (3 summaries: 3 new, 0 already stored); none after")
    assert store.stored == [["c-0", "c-1", "c-2"]]


async def test_a_client_that_goes_away_cancels_the_chunk_being_stored() -> None:
    store = Recorder()
    store.release.clear()
    gone = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        for line in lines(3):
            yield line
        await gone.wait()  # the next piece never comes
        yield b""

    running = asyncio.create_task(importer.run(body(), store, chunk_lines=3, max_line_bytes=10_000))
    await store.started.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert store.cancelled and store.running == 0 and store.stored == []


async def test_an_error_in_reading_cancels_the_chunk_being_stored() -> None:
    store = Recorder()
    store.release.clear()

    async def body() -> AsyncIterator[bytes]:
        for line in lines(3):
            yield line
        await store.started.wait()
        raise ConnectionResetError("the stream broke")

    with pytest.raises(ConnectionResetError):
        async with asyncio.timeout(10):  # a store left holding would hold the import
            await importer.run(body(), store, chunk_lines=3, max_line_bytes=10_000)
    assert store.cancelled and store.running == 0 and store.stored == []
