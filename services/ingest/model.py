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
    # A child's parent Conversation (its summary_id); None for a Conversation.
    conversation_id: str | None
    # The Genesys conversation id: a Conversation's, or the one a child linked by.
    genesys_conversation_id: str | None
    create_time: datetime
    # In a search: an excerpt with the matched words marked, and how well the row matched.
    snippet: str = ""
    rank: float = 0.0
    insights: list[Insight] = field(default_factory=list)
    children: list[Summary] = field(default_factory=list)

    @property
    def shown_conversation_id(self) -> str | None:
        """conversationId as the client sent it: the Genesys id where there is one."""
        return self.genesys_conversation_id or self.conversation_id


@dataclass(frozen=True, slots=True)
class Batch:
    """Validated entities, ready to store: everything storage needs is decided already."""

    entities: Sequence[Entity]
    # Identifies each entity's content, so a retry is told apart from a conflict.
    hashes: Sequence[bytes]
    # Parents that children name but the batch does not hold earlier -> the first such child's index.
    outside_parents: dict[str, int]
    # Children whose parent is earlier in the batch: index -> the parent's summary_id.
    inside_links: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Created:
    ids: dict[str, int]
    inserted: int


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended, in list order (newest first, or by rank in a relevance search)."""

    date_created: datetime
    id: int
    rank: float = 0.0


# The filters that are equality on a column of the same name.
COLUMN_FILTERS = ("summary_type", "media_type", "language", "agent_id", "source_id")


@dataclass(frozen=True, slots=True)
class Filters:
    """What a list is narrowed to; empty strings and None do not filter."""

    summary_type: str = ""
    media_type: str = ""
    language: str = ""
    agent_id: str = ""
    source_id: str = ""
    conversation_id: str = ""  # a Conversation's summaryId or Genesys id: its summaries
    date_from: datetime | None = None  # inclusive
    date_to: datetime | None = None  # exclusive
    insight_type: str = ""  # has an insight of this type
    outcome: str = ""  # its Resolution insight has this outcome
    generated: bool | None = None
    text: str = ""  # full-text search (websearch syntax)


@dataclass(frozen=True, slots=True)
class ListQuery:
    filters: Filters
    page_size: int
    after: Cursor | None = None
    by_relevance: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    summaries: list[Summary]
    # Set when more summaries follow this page.
    next_cursor: Cursor | None


@dataclass(frozen=True, slots=True)
class Stats:
    total: int
    # (key, count): largest first, or in time order for time buckets.
    groups: list[tuple[str, int]]


@dataclass(frozen=True, slots=True)
class TopInsight:
    type: str
    title: str
    count: int
    resolved_share: float
