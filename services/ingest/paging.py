"""List requests: checked filters, page size, and opaque page tokens, signed and bound to their filters."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from pydantic.alias_generators import to_camel

from parley.ingest.v1 import ingest_service_pb2 as pb
from services.common import contract
from services.common.errors import InvalidArgument
from services.ingest.domain import INSIGHT_TYPES, MEDIA_TYPES, SUMMARY_TYPES
from services.ingest.fields import ID_MAX, lookup_problem, timestamp_problem
from services.ingest.model import COLUMN_FILTERS, Cursor, Filters, ListQuery

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = contract.int_range(pb.ListConversationsRequest, "page_size")[1]

# The string filters, by their Filters names; "text" is the request's q.
TEXT_FILTERS = (*COLUMN_FILTERS, "conversation_id", "insight_type", "outcome", "text")
_ENUMS = {"summary_type": SUMMARY_TYPES, "media_type": MEDIA_TYPES, "insight_type": INSIGHT_TYPES}
_JSON_NAMES = {name: to_camel(name) for name in TEXT_FILTERS} | {"text": "q"}
_QUERY_MAX = contract.max_len(pb.ListConversationsRequest, "q")


@dataclasses.dataclass(frozen=True)
class ListRequest:
    query: ListQuery
    # What the next page's token carries, so a token cannot be replayed against other filters.
    fingerprint: str


_NOT_ISSUED = "pageToken is not a token this service issued"
_MAX_ID = 2**63 - 1


class Pager:
    """Reads list requests and issues their page tokens, signed with the server's secret
    (INGEST_PAGE_TOKEN_SECRET), so a token cannot be forged or edited."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def list_request(
        self, text: dict[str, str], generated: bool | None, order_by: str,
        date_from: str, date_to: str, page_size: int, token: str,
    ) -> ListRequest:
        """Validates a list request. `text` maps TEXT_FILTERS names to values ("" does not filter)."""
        if order_by not in ("", "relevance"):
            raise InvalidArgument("orderBy must be relevance, or absent for newest first")
        if page_size < 0:
            raise InvalidArgument("pageSize must not be negative")
        if page_size > MAX_PAGE_SIZE:
            raise InvalidArgument(f"pageSize must be at most {MAX_PAGE_SIZE}")
        filters = checked_filters(text, generated, date_from, date_to)
        fingerprint = _fingerprint({**text, "generated": str(generated), "order": order_by}, date_from, date_to)
        query = ListQuery(
            filters=filters,
            page_size=page_size or DEFAULT_PAGE_SIZE,
            after=self._decode(token, fingerprint) if token else None,
            # Without a search there is nothing to rank by: newest first.
            by_relevance=bool(order_by and text.get("text")),
        )
        return ListRequest(query, fingerprint)

    def next_token(self, cursor: Cursor | None, fingerprint: str) -> str:
        """The token of the page after `cursor`; "" when there is none."""
        if cursor is None:
            return ""
        fields = {"d": cursor.date_created.isoformat(), "i": cursor.id, "r": cursor.rank, "f": fingerprint}
        payload = _b64(json.dumps(fields).encode())
        return f"{payload}.{_b64(self._sign(payload))}"

    def _sign(self, payload: str) -> bytes:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()[:16]

    def _decode(self, token: str, fingerprint: str) -> Cursor:
        payload, _, mac = token.partition(".")
        try:
            genuine = hmac.compare_digest(_unb64(mac), self._sign(payload))
        except (ValueError, binascii.Error):
            genuine = False
        if not genuine:
            raise InvalidArgument(_NOT_ISSUED)
        fields = json.loads(_unb64(payload))
        if not isinstance(fields, dict) or fields.get("f") != fingerprint:
            raise InvalidArgument("pageToken was issued for different filters; start again without it")
        return _cursor(fields)


def checked_filters(text: dict[str, str], generated: bool | None, date_from: str, date_to: str) -> Filters:
    """The filters of a list, stats or top-insights request, each value checked (400 naming it)."""
    _check_text(text)
    return Filters(**text, generated=generated, date_from=_bound("dateCreatedFrom", date_from),
                   date_to=_bound("dateCreatedTo", date_to))


def _cursor(fields: dict[str, Any]) -> Cursor:
    """A signed payload is ours, but may come from an older version: read it defensively."""
    try:
        date, pk, rank = fields["d"], fields["i"], fields.get("r", 0.0)
        if isinstance(date, str) and isinstance(pk, int) and 0 < pk <= _MAX_ID and isinstance(rank, int | float):
            return Cursor(datetime.fromisoformat(date), pk, float(rank))
    except (KeyError, TypeError, ValueError):
        pass
    raise InvalidArgument(_NOT_ISSUED)


def _check_text(text: dict[str, str]) -> None:
    for name, value in text.items():
        json_name = _JSON_NAMES[name]
        if not value:
            continue
        problem = lookup_problem(value, _QUERY_MAX if name == "text" else ID_MAX)
        if problem:
            raise InvalidArgument(f"{json_name} {problem}")
    for name, allowed in _ENUMS.items():
        if text.get(name) and text[name] not in allowed:
            raise InvalidArgument(f"{_JSON_NAMES[name]} must be one of {', '.join(allowed)}")


def _bound(name: str, value: str) -> datetime | None:
    if not value:
        return None
    parsed, problem = timestamp_problem(value)
    if parsed is None:
        raise InvalidArgument(f"{name} {problem}")
    return parsed


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fingerprint(params: dict[str, str], date_from: str, date_to: str) -> str:
    active = sorted((name, value) for name, value in params.items() if value)
    material = json.dumps([active, date_from, date_to])
    return hashlib.sha256(material.encode()).hexdigest()[:16]
