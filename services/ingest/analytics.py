"""Stats and top insights: the requests checked (400 naming what is wrong), then counted by storage."""

from __future__ import annotations

from dataclasses import dataclass

from parley.ingest.v1 import ingest_service_pb2 as pb
from services.common import contract
from services.common.errors import InvalidArgument
from services.ingest.domain import INSIGHT_TYPES

# groupBy's JSON names -> what storage groups by.
GROUPS = {"summaryType": "summary_type", "mediaType": "media_type", "language": "language", "agentId": "agent_id",
          "sourceId": "source_id", "insightType": "insight_type", "outcome": "outcome",
          "day": "day", "week": "week", "month": "month"}
TIME_BUCKETS = ("day", "week", "month")
DEFAULT_LIMIT = 20
MAX_LIMIT = contract.int_range(pb.GetConversationStatsRequest, "limit")[1]


@dataclass(frozen=True)
class Grouping:
    by: str  # a GROUPS value, or "" for the total alone
    limit: int


def grouping(group_by: str, limit: int) -> Grouping:
    if group_by and group_by not in GROUPS:
        raise InvalidArgument(f"groupBy must be one of {', '.join(GROUPS)}")
    return Grouping(GROUPS.get(group_by, ""), _limit(limit))


def top(insight_type: str, limit: int) -> tuple[str, int]:
    kind = insight_type or "Reason"
    if kind not in INSIGHT_TYPES:
        raise InvalidArgument(f"type must be one of {', '.join(INSIGHT_TYPES)}")
    return kind, _limit(limit)


def _limit(limit: int) -> int:
    if not 0 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}")
    return limit or DEFAULT_LIMIT
