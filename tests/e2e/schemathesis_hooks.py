"""What Schemathesis is told about Parley's document beyond JSON Schema (SCHEMATHESIS_HOOKS).

Three things in the document are not JSON Schema a generator can read, so they are taught
here, each from the contract's own values (services/common/contract.py), never restated:
- the format `json-insight-array`: the insights array written as a JSON string (Genesys);
- the media type `application/x-ndjson` of an import: one entity a line;
- `pageToken`: opaque and signed by the server, so a generated one is a forgery by
  construction; it is left out (its refusals are tested in test_ingest_reads and
  test_hostile_input), and every other parameter of the list is generated.
And one bound on time: a synth request asks for at most COUNT records, since each costs the
fake model a call (the contract's own bounds are tested in test_synth_errors).
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from hypothesis import strategies as st

from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.synth.v1 import synth_service_pb2 as synth_pb
from services.common import contract
from services.ingest.domain import INSIGHT_TYPES, MEDIA_TYPES

# Short texts: long ones are the coverage phase's to try, from the document's maxLength.
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=20)
_ID = st.from_regex(contract.pattern(pb.ConversationEntity, "summary_id"), fullmatch=True).filter(
    lambda value: len(value) <= contract.max_len(pb.ConversationEntity, "summary_id"))
_INSIGHT = st.fixed_dictionaries(
    {"type": st.sampled_from(INSIGHT_TYPES), "title": _TEXT, "description": _TEXT},
    optional={"outcome": _TEXT},
)
_INSIGHTS = st.lists(_INSIGHT, max_size=3)
_CONVERSATION = st.fixed_dictionaries({
    "summaryType": st.just("Conversation"), "mediaType": st.sampled_from(MEDIA_TYPES),
    "language": st.sampled_from(("es", "en", "pt-BR")), "summaryId": _ID, "sourceId": _ID,
    "summary": _TEXT, "generated": st.booleans(), "dateCreated": st.just("2025-12-23T15:30:00.000Z"),
}, optional={"insights": _INSIGHTS})

schemathesis.openapi.format("json-insight-array", st.one_of(st.just(""), _INSIGHTS.map(json.dumps)))
_LINES = st.lists(_CONVERSATION, min_size=1, max_size=4, unique_by=lambda line: line["summaryId"])
schemathesis.openapi.media_type("application/x-ndjson", _LINES.map(
    lambda lines: "".join(json.dumps(line) + "\n" for line in lines).encode()))


COUNT = 5
_UNARY_MAX = contract.int_range(synth_pb.Payload, "count")[1]
_STREAM_MAX = contract.int_range(synth_pb.StreamPayload, "count")[1]


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Every phase's cases pass here just before they are sent (map_* hooks miss the coverage phase)."""
    if isinstance(case.query, dict):
        case.query.pop("pageToken", None)
    payload = case.body.get("payload") if isinstance(case.body, dict) else None
    if case.path.startswith("/api/v1/synthetic-data") and isinstance(payload, dict):
        count = payload.get("count")
        most = _STREAM_MAX if case.path.endswith(":stream") else _UNARY_MAX
        # Only a count the contract accepts: a larger one is a negative case, and stays one.
        # (6140.0 is an integer to JSON Schema too.)
        if isinstance(count, int | float) and not isinstance(count, bool) and COUNT < count <= most:
            payload["count"] = COUNT
