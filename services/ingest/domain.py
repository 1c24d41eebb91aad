"""Pure rules for conversation summaries: validation, normalization, batch hierarchy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from parley.ingest.v1 import ingest_service_pb2 as pb
from services.common import contract
from services.common.errors import AlreadyExists, InvalidArgument, NotFound, TooLarge
from services.ingest.fields import (
    ID_MAX,
    TEXT_MAX,
    format_timestamp,
    id_problem,
    language_problem,
    parse_timestamp,
    text_problem,
    timestamp_problem,
    velocity_leftover,
)
from services.ingest.model import Batch

__all__ = ["format_timestamp", "parse_timestamp"]  # part of the domain's vocabulary too

SUMMARY_TYPES = contract.string_in(pb.ConversationEntity, "summary_type")
CHILD_TYPES = tuple(t for t in SUMMARY_TYPES if t != "Conversation")
MEDIA_TYPES = contract.string_in(pb.ConversationEntity, "media_type")
INSIGHT_TYPES = contract.string_in(pb.Insight, "type")

NO_ENTITIES = "No entities provided"
CHILD_NEEDS_PARENT = "Agent and VirtualAgent summaryTypes require a conversationId"

_PARENT_REQUIRED = contract.required_when(pb.ConversationEntity, "conversation_id")["summary_type"]
_INSIGHTS_MAX = contract.max_items(pb.ConversationEntity, "insights")
MAX_ENTITIES = contract.max_items(pb.CreateConversationsRequest, "entities")


def _valid(value: str, problem: str | None) -> str:
    if problem:
        raise PydanticCustomError("value", problem)
    return value


def _one_of(value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise PydanticCustomError("one_of", "must be one of " + ", ".join(allowed))
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_velocity(cls, value: Any) -> Any:
        problem = velocity_leftover(value) or (text_problem(value) if isinstance(value, str) else None)
        if problem:
            raise PydanticCustomError("text", problem)
        return value


class Insight(_Strict):
    type: str
    title: str = Field(min_length=1, max_length=TEXT_MAX)
    description: str = Field(min_length=1, max_length=TEXT_MAX)
    outcome: str | None = Field(None, max_length=TEXT_MAX)

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        return _one_of(value, INSIGHT_TYPES)


class Entity(_Strict):
    summary_type: str
    media_type: str
    language: str
    summary_id: str = Field(min_length=1, max_length=ID_MAX)
    agent_id: str | None = Field(None, max_length=ID_MAX)
    source_id: str = Field(min_length=1, max_length=ID_MAX)
    summary: str = Field(min_length=1, max_length=TEXT_MAX)
    generated: bool
    date_created: datetime
    conversation_id: str | None = Field(None, max_length=ID_MAX)
    insights: list[Insight] = Field(default_factory=list, max_length=_INSIGHTS_MAX)

    @model_validator(mode="after")
    def _self_parent(self) -> Entity:
        # A Conversation may echo its own summaryId as conversationId: it has no parent.
        if self.summary_type == "Conversation" and self.conversation_id == self.summary_id:
            return self.model_copy(update={"conversation_id": None})
        return self

    @field_validator("summary_type")
    @classmethod
    def _summary_type(cls, value: str) -> str:
        return _one_of(value, SUMMARY_TYPES)

    @field_validator("media_type")
    @classmethod
    def _media_type(cls, value: str) -> str:
        return _one_of(value, MEDIA_TYPES)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return _valid(value, language_problem(value))

    @field_validator("summary_id", "conversation_id")
    @classmethod
    def _path_id(cls, value: str | None) -> str | None:
        return value if value is None else _valid(value, id_problem(value, in_paths=True))

    @field_validator("agent_id", "source_id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return value if value is None else _valid(value, id_problem(value, in_paths=False))

    @field_validator("date_created", mode="before")
    @classmethod
    def _date_created(cls, value: Any) -> datetime:
        parsed, problem = timestamp_problem(value)
        if parsed is None:
            raise PydanticCustomError("timestamp", problem or "")
        return parsed

    @property
    def is_child(self) -> bool:
        return self.summary_type in CHILD_TYPES

    def content_hash(self) -> bytes:
        """Identifies the content, so a retried request is told apart from a conflicting one."""
        canonical = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).digest()


_MESSAGES = {
    "missing": "is required",
    "string_type": "must be a string",
    "bool_type": "must be a boolean",
    "string_too_short": "is required",
    "string_too_long": "must be at most {max_length} characters",
    "too_long": "must have at most {max_length} items",
    "list_type": "must be an array of insight objects",
    "model_type": "must be an object",
}


def _describe(error: Any, prefix: str) -> str:
    path = prefix
    for part in error["loc"]:
        # Fields are named as the JSON body names them, whichever names the input used.
        path += f"[{part}]" if isinstance(part, int) else f".{to_camel(part)}"
    template = _MESSAGES.get(error["type"])
    message = template.format(**error.get("ctx", {})) if template else error["msg"]
    return f"{path} {message}"


def parse_entity(raw: dict[str, Any], index: int) -> Entity:
    """Validates one entity given by attribute or JSON names, absent fields left out."""
    try:
        return Entity.model_validate(raw)
    except ValidationError as exc:
        raise InvalidArgument(_describe(exc.errors()[0], f"entities[{index}]")) from None


def parse_insights(value: Any, index: int) -> list[Any]:
    """Accepts a JSON array, that array stringified (Genesys), or ""/null for none."""
    if value is None or value == "":
        return []
    problem = velocity_leftover(value)
    if problem:
        raise InvalidArgument(f"entities[{index}].insights {problem}")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, list):
        raise InvalidArgument(
            f"entities[{index}].insights must be an array of insight objects or that array as a JSON string"
        )
    return value


def check_size(count: int, max_entities: int) -> None:
    """Checked before any entity is parsed, so an oversized batch costs nothing."""
    if count == 0:
        raise InvalidArgument(NO_ENTITIES)
    if count > max_entities:
        raise TooLarge(f"Too many entities: {count} (at most {max_entities} per request)")


def needs_parent(entity: Entity, *, strict: bool) -> bool:
    """Whether `entity` lacks the parent it must have. A VirtualAgent always has one; an Agent
    may stand alone (an e-mail summary with only an agent part: the spec's example 3) unless
    the deployment keeps the hierarchy strict (INGEST_STRICT_HIERARCHY)."""
    return entity.conversation_id is None and (entity.summary_type in _PARENT_REQUIRED or (strict and entity.is_child))


def _distinct(entities: Sequence[Entity]) -> tuple[list[Entity], list[int], list[bytes]]:
    """The batch with each summary once: a summaryId sent twice with the same content is one
    summary (as a retried request is), with other content a conflict (as with a stored one).
    Returns the summaries kept, each one's index in the request, and their content hashes."""
    kept: list[Entity] = []
    positions: list[int] = []
    hashes: list[bytes] = []
    first: dict[str, int] = {}
    for index, entity in enumerate(entities):
        digest = entity.content_hash()
        if entity.summary_id not in first:
            first[entity.summary_id] = len(kept)
            kept.append(entity)
            positions.append(index)
            hashes.append(digest)
        elif hashes[first[entity.summary_id]] != digest:
            raise AlreadyExists(
                f"entities[{index}].summaryId '{entity.summary_id}' appears twice in the batch with different "
                f"content (also entities[{positions[first[entity.summary_id]]}])"
            )
    return kept, positions, hashes


def _links(entities: Sequence[Entity], positions: Sequence[int],
           strict: bool) -> tuple[dict[int, str], dict[str, int]]:
    """Each child's parent when the batch holds it earlier (index -> the parent's summaryId),
    and the parents it does not hold (conversationId -> the first such child's index in the
    request). A child names its parent by summaryId or by the parent's Genesys conversation
    id; a summaryId wins where both could match."""
    seen: dict[str, int] = {}
    genesys: dict[str, int] = {}
    inside: dict[int, str] = {}
    outside: dict[str, int] = {}
    for index, entity in enumerate(entities):
        seen[entity.summary_id] = index
        ref = entity.conversation_id
        at = positions[index]
        if not entity.is_child:
            if ref is not None:
                if ref in genesys:
                    raise AlreadyExists(
                        f"entities[{at}].conversationId '{ref}' is also the conversationId of "
                        f"entities[{positions[genesys[ref]]}]: one Conversation summary per Genesys conversation"
                    )
                genesys[ref] = index
            continue
        if ref is None:
            if needs_parent(entity, strict=strict):
                raise InvalidArgument(CHILD_NEEDS_PARENT)
            continue  # a standalone Agent: top-level, as a Conversation is
        position = seen.get(ref, genesys.get(ref))
        if position is None or position == index:
            outside.setdefault(ref, at)
        elif entities[position].is_child:
            raise NotFound(  # no Conversation by that id (AIP-133), as for one not stored
                f"entities[{at}].conversationId '{ref}' names a "
                f"{entities[position].summary_type} summary, not a Conversation"
            )
        else:
            inside[index] = entities[position].summary_id
    return inside, outside


def prepare(entities: Sequence[Entity], *, strict_hierarchy: bool = False) -> Batch:
    """Checks the rules that span the batch and decides everything storage needs."""
    kept, positions, hashes = _distinct(entities)
    inside, outside = _links(kept, positions, strict_hierarchy)
    return Batch(kept, hashes, outside, inside)
