"""The typed values that cross ingest's boundaries: servicer <-> domain <-> storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from services.ingest.domain import Entity


@dataclass(frozen=True, slots=True)
class Insight:
    type: str
    title: str
    description: str
    outcome: str | None = None


@dataclass(slots=True)
class Summary:
    """A stored summary; `children` is filled only when a Conversation is read alone."""

    id: int
    summary_id: str
    summary_type: str
    media_type: str
    language: str
    agent_id: str | None
    source_id: str
    summary: str
    generated: bool
    date_created: datetime
    conversation_id: str | None
    create_time: datetime
    insights: list[Insight] = field(default_factory=list)
    children: list[Summary] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Batch:
    """Validated entities, ready to store: everything storage needs is decided already."""

    entities: Sequence[Entity]
    # Identifies each entity's content, so a retry is told apart from a conflict.
    hashes: Sequence[bytes]
    # Parents that children name but the batch does not hold earlier -> the first such child's index.
    outside_parents: dict[str, int]


@dataclass(frozen=True, slots=True)
class Created:
    ids: dict[str, int]
    inserted: int


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended, in list order (newest first)."""

    date_created: datetime
    id: int


@dataclass(frozen=True, slots=True)
class Filters:
    """What a list is narrowed to; empty strings and None do not filter."""

    summary_type: str = ""
    media_type: str = ""
    language: str = ""
    agent_id: str = ""
    source_id: str = ""
    conversation_id: str = ""
    date_from: datetime | None = None  # inclusive
    date_to: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class ListQuery:
    filters: Filters
    page_size: int
    after: Cursor | None = None


@dataclass(frozen=True, slots=True)
class Page:
    summaries: list[Summary]
    # Set when more summaries follow this page.
    next_cursor: Cursor | None
