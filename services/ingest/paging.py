"""List requests: filters, dateCreated range and opaque page tokens bound to their filters."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

from services.common.errors import InvalidArgument
from services.ingest.domain import MEDIA_TYPES, SUMMARY_TYPES, TIMESTAMP_HINT, parse_timestamp
from services.ingest.storage import ListQuery

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

# JSON name of each filter -> its column; the only names that ever reach SQL text.
FILTER_COLUMNS = {
    "summaryType": "summary_type",
    "mediaType": "media_type",
    "language": "language",
    "agentId": "agent_id",
    "sourceId": "source_id",
    "conversationId": "conversation_id",
}
_ENUMS = {"summaryType": SUMMARY_TYPES, "mediaType": MEDIA_TYPES}


def build_query(
    filters: dict[str, str], date_from: str, date_to: str, page_size: int, token: str
) -> tuple[ListQuery, str]:
    """Validates a list request; returns the query and the fingerprint its next token carries.

    `filters` maps JSON names to values; empty values do not filter.
    """
    active = {name: value for name, value in filters.items() if value}
    for name, allowed in _ENUMS.items():
        if name in active and active[name] not in allowed:
            raise InvalidArgument(f"{name} must be one of {', '.join(allowed)}")
    if page_size < 0:
        raise InvalidArgument("pageSize must not be negative")
    fingerprint = _fingerprint(active, date_from, date_to)
    query = ListQuery(
        filters={FILTER_COLUMNS[name]: value for name, value in active.items()},
        date_from=_bound("dateCreatedFrom", date_from),
        date_to=_bound("dateCreatedTo", date_to),
        after=decode_token(token, fingerprint) if token else None,
        # One extra row tells whether another page follows.
        limit=min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) + 1,
    )
    return query, fingerprint


def next_token(last_date: datetime, last_id: int, fingerprint: str) -> str:
    payload = {"d": last_date.isoformat(), "i": last_id, "f": fingerprint}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> tuple[datetime, int]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position = (datetime.fromisoformat(payload["d"]), int(payload["i"]))
        same_filters = payload["f"] == fingerprint
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument("pageToken is not a token this service issued") from None
    if not same_filters:
        raise InvalidArgument("pageToken was issued for different filters; start again without it")
    return position


def _bound(name: str, value: str) -> datetime | None:
    if not value:
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        raise InvalidArgument(f"{name} {TIMESTAMP_HINT}")
    return parsed


def _fingerprint(active: dict[str, str], date_from: str, date_to: str) -> str:
    material = json.dumps([sorted(active.items()), date_from, date_to])
    return hashlib.sha256(material.encode()).hexdigest()[:16]
