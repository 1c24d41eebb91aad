"""Plausible JSON values for a JSON Schema, from a seeded random generator."""

from __future__ import annotations

import random
import string
from typing import Any

_FIRST = ("Sarah", "Marcus", "Aisha", "Diego", "Mei", "Olu", "Priya", "Jonas", "Lucía", "Tomás", "Noor", "Kenji")
_LAST = ("Mitchell", "Johnson", "Okafor", "García", "Chen", "Adeyemi", "Sharma", "Berg", "Rossi", "Novak")
_WORDS = ("order", "refund", "screen", "billing", "password", "delivery", "laptop", "invoice", "account",
          "replacement", "tracking", "warranty", "charge", "login", "package", "support", "update")


def record_for(schema: dict[str, Any] | None, rng: random.Random) -> Any:
    if not schema:
        return {"id": _identifier("REC", rng), "text": _sentence(rng)}
    return _value(schema, rng, schema, "record")


def _value(schema: dict[str, Any], rng: random.Random, root: dict[str, Any], name: str) -> Any:
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _value(target, rng, root, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return _value(schema[combinator][0], rng, root, name)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _BY_TYPE.get(kind, lambda *_: None)(schema, rng, root, name)


def _object(schema: dict[str, Any], rng: random.Random, root: dict[str, Any], _name: str) -> dict[str, Any]:
    properties = schema.get("properties", {})
    return {key: _value(sub, rng, root, key) for key, sub in properties.items()}


def _array(schema: dict[str, Any], rng: random.Random, root: dict[str, Any], name: str) -> list[Any]:
    low = schema.get("minItems", 2)
    high = max(low, schema.get("maxItems", low + 3))
    items = schema.get("items", {"type": "string"})
    return [_value(items, rng, root, name) for _ in range(rng.randint(low, high))]


def _string(schema: dict[str, Any], rng: random.Random, _root: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    if fmt == "date-time" or "timestamp" in name or name.endswith("_at"):
        return f"2024-0{rng.randint(1, 9)}-{rng.randint(10, 28)}T{rng.randint(10, 23)}:{rng.randint(10, 59)}:00Z"
    if fmt == "email":
        return f"{rng.choice(_FIRST).lower()}.{rng.choice(_LAST).lower()}@example.com"
    if fmt in ("uri", "url"):
        return f"https://example.com/{rng.choice(_WORDS)}/{rng.randint(1, 9999)}"
    if name.endswith("_id") or name == "id":
        return _identifier(name.split("_")[0].upper()[:4] or "ID", rng)
    if "name" in name:
        return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    text = _sentence(rng)
    return text[: schema.get("maxLength", len(text))].ljust(schema.get("minLength", 0), "x")


def _number(schema: dict[str, Any], rng: random.Random, _root: dict[str, Any], _name: str) -> float:
    low, high = schema.get("minimum", 0), schema.get("maximum", 100)
    return round(rng.uniform(low, high) * 2) / 2


def _integer(schema: dict[str, Any], rng: random.Random, _root: dict[str, Any], _name: str) -> int:
    return rng.randint(int(schema.get("minimum", 0)), int(schema.get("maximum", 1000)))


def _identifier(prefix: str, rng: random.Random) -> str:
    return f"{prefix}-{rng.randint(2024, 2025)}-{''.join(rng.choices(string.digits, k=6))}"


def _sentence(rng: random.Random) -> str:
    words = rng.sample(_WORDS, 6)
    return f"The customer asked about the {words[0]} and {words[1]}; the agent checked the {words[2]}."


_BY_TYPE = {
    "object": _object, "array": _array, "string": _string, "number": _number, "integer": _integer,
    "boolean": lambda _s, rng, _r, _n: rng.random() < 0.5, "null": lambda *_: None,
}
