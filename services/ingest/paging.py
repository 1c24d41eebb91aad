"""List requests: checked filters, page size, and opaque page tokens bound to their filters."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from datetime import datetime

from services.common.errors import InvalidArgument
from services.ingest.domain import MEDIA_TYPES, SUMMARY_TYPES, TIMESTAMP_HINT, parse_timestamp
from services.ingest.model import Cursor, Filters, ListQuery

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

# The filters that are plain equality on a string, as named in the contract's request.
EQUALITY_FILTERS = tuple(f.name for f in dataclasses.fields(Filters) if f.type == "str")
_ENUMS = {"summary_type": ("summaryType", SUMMARY_TYPES), "media_type": ("mediaType", MEDIA_TYPES)}


@dataclasses.dataclass(frozen=True)
class ListRequest:
    query: ListQuery
    # What the next page's token carries, so a token cannot be replayed against other filters.
    fingerprint: str


def list_request(
    equal: dict[str, str], date_from: str, date_to: str, page_size: int, token: str
) -> ListRequest:
    """Validates a list request. `equal` maps EQUALITY_FILTERS names to values ("" does not filter)."""
    for name, (json_name, allowed) in _ENUMS.items():
        if equal.get(name) and equal[name] not in allowed:
            raise InvalidArgument(f"{json_name} must be one of {', '.join(allowed)}")
    if page_size < 0:
        raise InvalidArgument("pageSize must not be negative")
    filters = Filters(
        **equal,
        date_from=_bound("dateCreatedFrom", date_from),
        date_to=_bound("dateCreatedTo", date_to),
    )
    fingerprint = _fingerprint(equal, date_from, date_to)
    query = ListQuery(
        filters=filters,
        page_size=min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        after=decode_token(token, fingerprint) if token else None,
    )
    return ListRequest(query, fingerprint)


def next_token(cursor: Cursor | None, fingerprint: str) -> str:
    """The token of the page after `cursor`; "" when there is none."""
    if cursor is None:
        return ""
    payload = {"d": cursor.date_created.isoformat(), "i": cursor.id, "f": fingerprint}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> Cursor:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        cursor = Cursor(datetime.fromisoformat(payload["d"]), int(payload["i"]))
        same_filters = payload["f"] == fingerprint
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument("pageToken is not a token this service issued") from None
    if not same_filters:
        raise InvalidArgument("pageToken was issued for different filters; start again without it")
    return cursor


def _bound(name: str, value: str) -> datetime | None:
    if not value:
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        raise InvalidArgument(f"{name} {TIMESTAMP_HINT}")
    return parsed


def _fingerprint(equal: dict[str, str], date_from: str, date_to: str) -> str:
    active = sorted((name, value) for name, value in equal.items() if value)
    material = json.dumps([active, date_from, date_to])
    return hashlib.sha256(material.encode()).hexdigest()[:16]
