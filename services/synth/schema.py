"""What the caller's JSON Schema asks for: the record schema, how many, and a safe validator.

Safe means a schema can cost no more than its own size: references resolve only
inside the submitted document (nothing is ever fetched, no file is read), and every
regular expression runs on RE2, whose matching time is linear.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import re2
import referencing
import referencing.exceptions
from jsonschema import _keywords, _legacy_keywords, _utils, exceptions, validators

from services.common.errors import InvalidArgument

_DRAFTS = {
    jsonschema.Draft202012Validator: "2020-12",
    jsonschema.Draft201909Validator: "2019-09",
    jsonschema.Draft7Validator: "draft-07",
    jsonschema.Draft6Validator: "draft-06",
    jsonschema.Draft4Validator: "draft-04",
    jsonschema.Draft3Validator: "draft-03",
}
_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
# An empty registry that retrieves nothing: an unknown URI is an error, never a fetch.
_NO_RETRIEVAL = referencing.Registry()


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
    cls = _validator_class(schema)
    record, min_items, max_items = schema, 0, None
    if schema.get("type") == "array":
        items = schema.get("items")
        if not isinstance(items, dict):
            raise InvalidArgument("payload.schema of type array needs an object schema in items (the record schema)")
        # The record schema keeps the root's definitions, so "#/$defs/x" still resolves.
        keep = ("$schema", "$defs", "definitions")
        shared: dict[str, Any] = {k: schema[k] for k in keep if k in schema and k not in items}
        record = {**shared, **items}
        min_items, max_items = _count_bound(schema, "minItems", 0), schema.get("maxItems")
        if max_items is not None:
            max_items = _count_bound(schema, "maxItems", 0)
    validator = cls(record, format_checker=cls.FORMAT_CHECKER, registry=_NO_RETRIEVAL)
    _check_references(record, validator)
    return Plan(record, validator, _DRAFTS.get(cls, cls.__name__), min_items, max_items)


def _validator_class(schema: dict[str, Any]) -> type[jsonschema.protocols.Validator]:
    if "$schema" in schema and not isinstance(schema["$schema"], str):
        raise InvalidArgument("payload.schema.$schema must be a string naming a JSON Schema draft")
    cls = validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        raise InvalidArgument(f"payload.schema is not a valid JSON Schema: {exc.message} (at {where})") from None
    except RecursionError:
        raise InvalidArgument("payload.schema is nested too deeply") from None
    _check_patterns(schema)
    return cls


def _count_bound(schema: dict[str, Any], keyword: str, default: int) -> int:
    value = schema.get(keyword, default)
    return int(value)  # check_schema has made it a non-negative integer


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in the schema, depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            yield current
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _check_references(record: dict[str, Any], validator: jsonschema.protocols.Validator) -> None:
    """Every reference must point inside the document: a 400 now, never a fetch or a 500 later."""
    resolver = validator._resolver
    for node in _walk(record):
        for keyword in _REF_KEYWORDS:
            ref = node.get(keyword)
            if not isinstance(ref, str):
                continue
            if not ref.startswith("#"):
                raise InvalidArgument(
                    f"payload.schema {keyword} '{ref[:100]}' points outside the schema; only references inside "
                    "it (such as #/$defs/name) are resolved, and nothing is ever fetched"
                )
            try:
                resolver.lookup(ref)
            except referencing.exceptions.Unresolvable:
                raise InvalidArgument(
                    f"payload.schema {keyword} '{ref[:100]}' does not resolve inside the schema") from None


def _check_patterns(schema: dict[str, Any]) -> None:
    for node in _walk(schema):
        patterns = [node.get("pattern"), *(node.get("patternProperties") or {})]
        for pattern in patterns:
            if isinstance(pattern, str):
                _re2(pattern)


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is the caller's 400, not a line on stderr


@functools.lru_cache(maxsize=4096)
def _re2(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error:
        raise InvalidArgument(
            f"payload.schema pattern '{pattern[:100]}' is not supported: patterns use RE2 syntax, "
            "which has no lookaround or backreferences"
        ) from None


class _Re2Search:
    """The part of `re` that jsonschema matches with (`re.search`), on RE2."""

    @staticmethod
    def search(pattern: str, text: str) -> Any:
        return _re2(pattern).search(text)


def _install_re2() -> None:
    """jsonschema matches `pattern`, `patternProperties`, `additionalProperties` and
    `unevaluatedProperties` with `re.search` in these modules: point them at RE2, so no
    keyword can backtrack exponentially (`^(a|a)*$` took 3.3 s on 25 characters)."""
    for module in (_keywords, _legacy_keywords, _utils):
        module.re = _Re2Search


_install_re2()


def canonical(record: Any) -> str:
    """One text per distinct record, to tell duplicates apart."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))
