"""The contract's rules, read from the protos' annotations: the one place each is written.

proto/ declares every constraint a request field has (Envoy's `validate.rules`, AIP-203's
`google.api.field_behavior`, and `parley.api.v1` for formats and Value shapes). The
services take their bounds, enums and patterns from here, the OpenAPI document
(gateway/openapi.py) from the same descriptors, so the two cannot disagree. The services
still word their own errors: the spec's messages are part of the contract too.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from validate import validate_pb2

from parley.api.v1 import field_pb2


def _field(message: Any, name: str) -> FieldDescriptor:
    descriptor: Descriptor = getattr(message, "DESCRIPTOR", message)
    return descriptor.fields_by_name[name]


def rules(message: Any, name: str) -> validate_pb2.FieldRules:
    """The field's validate.rules (empty when it has none)."""
    return _field(message, name).GetOptions().Extensions[validate_pb2.rules]


def required(message: Any, name: str) -> bool:
    behaviors = _field(message, name).GetOptions().Extensions[field_behavior_pb2.field_behavior]
    return field_behavior_pb2.REQUIRED in behaviors


def string_in(message: Any, name: str) -> tuple[str, ...]:
    """The values a string field (or each item of a repeated one) may take, in declared order."""
    found = rules(message, name)
    strings = found.repeated.items.string if found.HasField("repeated") else found.string
    values = tuple(getattr(strings, "in"))  # `in` is a Python keyword
    if not values:
        raise LookupError(f"{name} declares no values")
    return values


def max_len(message: Any, name: str) -> int:
    return int(rules(message, name).string.max_len)


@functools.cache
def compiled(pattern: str) -> re.Pattern[str]:
    # JSON Schema reads patterns as ECMA-262, where `$` ends the input; Python's `$` also
    # matches before a final newline, so it becomes `\Z`.
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def pattern(message: Any, name: str) -> re.Pattern[str]:
    """The field's pattern, a search (as JSON Schema's): anchor it in the proto to match whole."""
    return compiled(rules(message, name).string.pattern)


def int_range(message: Any, name: str) -> tuple[int, int]:
    """[gte, lte] of an int32 field."""
    found = rules(message, name).int32
    return int(found.gte), int(found.lte)


def number_range(message: Any, name: str) -> tuple[float, float]:
    """[gte, lte] of a double field."""
    found = rules(message, name).double
    return float(found.gte), float(found.lte)


def max_items(message: Any, name: str) -> int:
    """The most items a repeated field, or a Value of parley.api.v1.value, may hold."""
    field = _field(message, name)
    shape = field.GetOptions().Extensions[field_pb2.value]
    return int(shape.max_items) if shape.items else int(rules(message, name).repeated.max_items)


def required_when(message: Any, name: str) -> dict[str, tuple[str, ...]]:
    """When field `name` is required: the other field's name -> the values that require it."""
    descriptor: Descriptor = getattr(message, "DESCRIPTOR", message)
    rules = descriptor.GetOptions().Extensions[field_pb2.required_when]
    return {rule.when: tuple(rule.values) for rule in rules if rule.field == name}


def fixed_bools(message: Any, name: str) -> dict[str, bool]:
    """The boolean fields of message field `name` that this request fixes, with their values."""
    return {rule.field: rule.value for rule in _field(message, name).GetOptions().Extensions[field_pb2.fixed_bool]}


def item_rules(message: Any, name: str) -> validate_pb2.StringRules:
    """The string rules of each item of a repeated field."""
    return rules(message, name).repeated.items.string


def console_rules() -> dict[str, Any]:
    """What the console's forms need of the contract (build/console-generated/contract.json)."""
    from parley.admin.v1 import key_service_pb2 as admin
    from parley.ingest.v1 import ingest_service_pb2 as ingest
    from parley.synth.v1 import synth_service_pb2 as synth

    filters = ingest.ListConversationsRequest
    return {
        "enums": {"summaryType": string_in(filters, "summary_type"), "mediaType": string_in(filters, "media_type"),
                  "insightType": string_in(filters, "insight_type")},
        "maxLength": {**{_field(filters, name).json_name: max_len(filters, name)
                         for name in ("q", "language", "agent_id", "source_id", "conversation_id", "outcome")},
                      "prompt": max_len(synth.Payload, "prompt")},
        "scopes": string_in(admin.CreateKeyRequest, "scopes"),
    }


if __name__ == "__main__":
    import json
    import sys

    json.dump(console_rules(), sys.stdout, indent=1)
    sys.stdout.write("\n")
