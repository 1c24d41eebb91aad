"""Export formats: each chunk of rows storage renders becomes one body chunk of the stream."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from services.common.errors import InvalidArgument

# The CSV columns, in storage/bulk.py's order. Insights are flattened: the titles of each
# type (and the Resolution outcomes) joined by " | ", and the whole list as JSON in
# "insights", so nothing is lost. Empty cells are absent values.
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
    return _csv([CSV_COLUMNS]) if form == "csv" else b""


def chunk(form: str, rows: Sequence[Any]) -> bytes:
    if form == "csv":
        return _csv(rows)
    return "".join(f"{row[0]}\n" for row in rows).encode()


def _csv(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)  # RFC 4180: quoted where needed, CRLF line ends
    return out.getvalue().encode()
