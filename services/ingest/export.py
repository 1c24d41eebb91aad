"""Export formats: each chunk of lines storage renders becomes one body chunk of the stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.common.errors import InvalidArgument

# The CSV columns, in storage/bulk.py's order. Insights are flattened: the titles of each
# type (and the Resolution outcomes) joined by " | ", and the whole list as JSON in
# "insights", so nothing is lost. Empty cells are absent values; text cells are quoted,
# whatever they hold (RFC 4180, CRLF line ends).
CSV_COLUMNS = (
    "id", "summaryId", "summaryType", "mediaType", "language", "agentId", "sourceId", "conversationId",
    "parentSummaryId", "generated", "dateCreated", "createTime", "summary",
    "reasons", "resolutions", "outcomes", "actionItems", "insights",
)
CONTENT_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def form(name: str) -> str:
    name = name or "ndjson"
    if name not in CONTENT_TYPES:
        raise InvalidArgument("format must be ndjson or csv")
    return name


def head(form: str) -> bytes:
    """What the stream starts with, before any row: the CSV header; nothing for NDJSON."""
    return (",".join(CSV_COLUMNS) + "\r\n").encode() if form == "csv" else b""


def chunk(rows: Sequence[Any]) -> bytes:
    """Rows storage rendered, each one line with its line end, as one body chunk."""
    return "".join([row[0] for row in rows]).encode()
