"""Variety across a batch: each record told its own values for the schema's enum and boolean
fields (spread evenly over the batch) and its own persona, and answers too close to one
already accepted turned away.

Small models asked for ten support tickets write eight about the same category, signed
"John Doe". Telling each record which category it is, and whose voice, moves that more than
any temperature does; checking near-duplicates catches the rest.
"""

from __future__ import annotations

import json
import random
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parley.synth.v1 import synth_service_pb2 as pb
from services.common import contract
from services.common.errors import InvalidArgument

MAX_PERSONAS = contract.max_items(pb.GenerationConfig, "personas")
MAX_PERSONA_CHARS = contract.item_rules(pb.GenerationConfig, "personas").max_len
_PERSONA = contract.compiled(contract.item_rules(pb.GenerationConfig, "personas").pattern)
# Two records whose words overlap this much (Jaccard) are the same record reworded.
NEAR = 0.9
MIN_WORDS = 8  # shorter records are compared exactly only
COMPARED = 200  # the most recent accepted records a new one is compared with
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Spread:
    # (field, its values in the order the records take them)
    fields: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    personas: tuple[str, ...] = ()
    # Every enum and boolean field, spread or free: what metadata.diversity reports on.
    watched: tuple[str, ...] = ()

    def hint(self, index: int) -> str:
        """What record `index` is told about itself ("" when nothing)."""
        parts = [f"{name} = {json.dumps(values[index % len(values)])}" for name, values in self.fields]
        hint = f" In this record, set {', '.join(parts)}." if parts else ""
        if self.personas:
            hint += f" Write it for this person: {self.personas[index % len(self.personas)]}."
        return hint


def _watched(schema: dict[str, Any] | None) -> dict[str, tuple[Any, ...]]:
    """The record schema's top-level enum and boolean fields, with their values."""
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict):
        return {}
    fields: dict[str, tuple[Any, ...]] = {}
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            continue
        if isinstance(spec.get("enum"), list) and spec["enum"]:
            fields[name] = tuple(spec["enum"])
        elif spec.get("type") == "boolean":
            fields[name] = (True, False)
    return fields


def spread(schema: dict[str, Any] | None, enabled: bool, free: Sequence[str], personas: Sequence[str],
           seed: int | None) -> Spread:
    """The batch's spread: every watched field but the free ones, in an order drawn from the seed."""
    fields = _watched(schema)
    _check_personas(personas)
    chosen = []
    for name, values in fields.items() if enabled else ():
        if name in free:
            continue
        order = list(values)
        random.Random(f"{seed}:{name}" if seed is not None else None).shuffle(order)
        chosen.append((name, tuple(order)))
    return Spread(tuple(chosen), tuple(p.strip() for p in personas), tuple(fields))


def _check_personas(personas: Sequence[str]) -> None:
    if len(personas) > MAX_PERSONAS:
        raise InvalidArgument(f"config.personas holds at most {MAX_PERSONAS} entries")
    for n, persona in enumerate(personas):
        if not _PERSONA.search(persona) or len(persona) > MAX_PERSONA_CHARS:
            raise InvalidArgument(f"config.personas[{n}] must be 1 to {MAX_PERSONA_CHARS} characters")


def words(record: Any) -> frozenset[str]:
    """The lower-cased words of a record's strings (its keys left out)."""
    found: set[str] = set()
    stack = [record]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found.update(w.lower() for w in _WORD.findall(value))
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return frozenset(found)


class NearDuplicates:
    """The word sets of the most recent accepted records."""

    def __init__(self) -> None:
        self._recent: deque[frozenset[str]] = deque(maxlen=COMPARED)

    def close_to(self, record_words: frozenset[str]) -> bool:
        if len(record_words) < MIN_WORDS:
            return False
        return any(len(record_words & other) >= NEAR * len(record_words | other) for other in self._recent)

    def add(self, record_words: frozenset[str]) -> None:
        self._recent.append(record_words)
