"""What the caller's JSON Schema asks for: the record schema, how many, and a validator."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema import exceptions, validators

from services.common.errors import InvalidArgument

_DRAFTS = {
    jsonschema.Draft202012Validator: "2020-12",
    jsonschema.Draft201909Validator: "2019-09",
    jsonschema.Draft7Validator: "draft-07",
    jsonschema.Draft6Validator: "draft-06",
    jsonschema.Draft4Validator: "draft-04",
    jsonschema.Draft3Validator: "draft-03",
}


@dataclass(frozen=True)
class Plan:
    # The schema each record must satisfy; None for free-form JSON objects.
    record_schema: dict[str, Any] | None
    validator: jsonschema.protocols.Validator | None
    draft: str
    min_items: int
    max_items: int | None

    def problem(self, record: Any) -> str | None:
        """Why `record` is not acceptable, or None when it is."""
        if self.validator is None:
            return None if isinstance(record, dict) else "the answer must be a JSON object"
        error = exceptions.best_match(self.validator.iter_errors(record))
        if error is None:
            return None
        where = error.json_path if error.json_path != "$" else "the record"
        return f"{error.message} (at {where})"


def plan(schema: dict[str, Any] | None) -> Plan:
    """Checks the schema itself (400 naming what is wrong) and finds the record schema in it."""
    if not schema:
        return Plan(None, None, "", 0, None)
    cls = validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        raise InvalidArgument(f"payload.schema is not a valid JSON Schema: {exc.message} (at {where})") from None
    record, min_items, max_items = schema, 0, None
    if schema.get("type") == "array":
        items = schema.get("items")
        if not isinstance(items, dict):
            raise InvalidArgument("payload.schema of type array needs an object schema in items (the record schema)")
        # The record schema keeps the root's definitions, so "#/$defs/x" still resolves.
        keep = ("$schema", "$defs", "definitions")
        shared: dict[str, Any] = {k: schema[k] for k in keep if k in schema and k not in items}
        record = {**shared, **items}
        min_items, max_items = int(schema.get("minItems", 0)), schema.get("maxItems")
    validator = cls(record, format_checker=cls.FORMAT_CHECKER)
    return Plan(record, validator, _DRAFTS.get(cls, cls.__name__), min_items, max_items)


def canonical(record: Any) -> str:
    """One text per distinct record, to tell duplicates apart."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))
