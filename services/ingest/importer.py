"""ImportConversations: NDJSON read as it streams in, each line validated with
CreateConversations' rules, stored a chunk of lines per transaction.

The first bad line (or a chunk storage refuses) stops the import: the error names the line
and says how many lines were stored before it, so a client can fix the file and resend it
whole (what was stored replays) or from that line on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from parley.ingest.v1 import ingest_service_pb2 as pb
from services.common.errors import InvalidArgument, ParleyError, TooLarge
from services.ingest import domain
from services.ingest.model import Batch, Created

log = logging.getLogger("parley.ingest.import")

# The names a line's fields may have: the JSON names and the proto names, as the REST body's.
_STRING_FIELDS = frozenset(
    name for f in pb.ConversationEntity.DESCRIPTOR.fields if f.type == f.TYPE_STRING for name in (f.name, f.json_name))
_FIELDS = frozenset(name for f in pb.ConversationEntity.DESCRIPTOR.fields for name in (f.name, f.json_name))
_ENTITY = re.compile(r"entities\[(\d+)\](\.)?")


@dataclass
class Progress:
    lines: int = 0  # entity lines stored (blank lines are not counted)
    inserted: int = 0
    replayed: int = 0
    chunks: int = 0
    last_line: int = 0  # the file's line number of the last line stored


@dataclass
class _Chunk:
    entities: list[domain.Entity] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)  # each entity's line number in the file


async def run(chunks: AsyncIterator[bytes], store: Callable[[Batch], Awaitable[Created]], *,
              chunk_lines: int, max_line_bytes: int, strict_hierarchy: bool = False) -> Progress:
    """Reads the NDJSON `chunks` through, storing each `chunk_lines` entities with `store`.

    A chunk is stored while the next one is read and checked, so PostgreSQL's work and this
    process's overlap; chunks are still stored one after another, in the file's order (a
    child may name a parent an earlier chunk stored). At most two chunks are held."""
    progress, chunk = Progress(), _Chunk()
    storing: asyncio.Task[None] | None = None  # the chunk before this one
    try:
        try:
            async for number, line in _lines(chunks, max_line_bytes):
                chunk.entities.append(parse_line(line, number, strict_hierarchy))
                chunk.numbers.append(number)
                if len(chunk.entities) == chunk_lines:
                    if storing is not None:
                        await storing
                    storing = asyncio.create_task(_store(chunk, store, progress))
                    chunk = _Chunk()
        except ParleyError:
            if storing is not None:  # the chunk before a bad line: stored, or refused (the earlier error)
                await storing
            raise
        except BaseException:
            if storing is not None:  # the client went away: an unfinished chunk rolls back
                await _abandon(storing)
            raise
        if storing is not None:
            await storing
        if chunk.entities:
            await _store(chunk, store, progress)
    except ParleyError as exc:
        exc.message = _stopped(exc.message, progress)
        raise
    if not progress.lines:
        raise InvalidArgument("The import holds no entities: send one JSON object a line (NDJSON)")
    return progress


async def _abandon(storing: asyncio.Task[None]) -> None:
    storing.cancel()
    await asyncio.wait({storing})
    if not storing.cancelled():
        storing.exception()  # retrieved: whatever it was, the import stopped for another reason


def parse_line(line: bytes, number: int, strict_hierarchy: bool = False) -> domain.Entity:
    """One line's entity, checked as a CreateConversations entity is; errors name the line."""
    try:
        raw = json.loads(line.decode())  # NDJSON is UTF-8 (bytes would be sniffed for UTF-16 too)
    except UnicodeDecodeError:
        raise InvalidArgument(f"Line {number} is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"Line {number} is not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InvalidArgument(f"Line {number} nests values too deeply") from None
    if not isinstance(raw, dict):
        raise InvalidArgument(f"Line {number} must be a JSON object (one entity a line)")
    unknown = next((name for name in raw if name not in _FIELDS), None)
    if unknown is not None:
        raise InvalidArgument(f"Line {number} has an unknown field '{unknown[:100]}'")
    # As the REST body's JSON becomes a proto message: null and "" are absent.
    fields: dict[str, Any] = {name: value for name, value in raw.items() if value is not None
                              and not (value == "" and name in _STRING_FIELDS)}
    try:
        if "insights" in fields:
            fields["insights"] = domain.parse_insights(fields["insights"], 0)
        entity = domain.parse_entity(fields, 0)
        if domain.needs_parent(entity, strict=strict_hierarchy):
            raise InvalidArgument(domain.CHILD_NEEDS_PARENT)
    except InvalidArgument as exc:
        raise InvalidArgument(_on_lines(exc.message, _Chunk([], [number]))) from None
    return entity


async def _lines(chunks: AsyncIterator[bytes], max_line_bytes: int) -> AsyncIterator[tuple[int, bytes]]:
    """(line number, line) for each line that is not blank, however the chunks split them."""
    pending, number = b"", 0
    async for data in chunks:
        *complete, pending = (pending + data).split(b"\n")
        for line in complete:
            number += 1
            if len(line) > max_line_bytes:
                raise TooLarge(f"Line {number} is over {max_line_bytes} bytes")
            if line.strip():
                yield number, line
        if len(pending) > max_line_bytes:
            raise TooLarge(f"Line {number + 1} is over {max_line_bytes} bytes")
    if pending.strip():  # the last line needs no newline
        yield number + 1, pending


async def _store(chunk: _Chunk, store: Callable[[Batch], Awaitable[Created]], progress: Progress) -> None:
    try:
        created = await store(domain.prepare(chunk.entities))
    except ParleyError as exc:
        exc.message = _on_lines(exc.message, chunk)
        raise
    progress.lines += len(chunk.entities)
    progress.inserted += created.inserted
    progress.replayed += len(chunk.entities) - created.inserted
    progress.chunks += 1
    progress.last_line = chunk.numbers[-1]
    log.info("import: %d lines stored (%d new) up to line %d", progress.lines, progress.inserted, progress.last_line)


def _on_lines(message: str, chunk: _Chunk) -> str:
    """The message with entities[i] named by the chunk's line; one that names no entity
    names the line of the summaryId it quotes, or else the chunk's lines."""
    numbers = chunk.numbers
    worded = _ENTITY.sub(lambda m: f"line {numbers[int(m[1])]}" + (": " if m[2] else ""), message)
    if worded != message or worded.startswith("Line "):
        return worded[0].upper() + worded[1:]
    for entity, number in zip(chunk.entities, numbers, strict=False):
        if f"'{entity.summary_id}'" in message:
            return f"Line {number}: {message}"
    return f"Line {numbers[0]}: {message}" if len(numbers) == 1 else f"Lines {numbers[0]}-{numbers[-1]}: {message}"


def _stopped(message: str, progress: Progress) -> str:
    if not progress.chunks:
        return f"{message}. Nothing was stored"
    return (f"{message}. Lines up to {progress.last_line} were stored ({progress.lines} summaries:"
            f" {progress.inserted} new, {progress.replayed} already stored); none after")
