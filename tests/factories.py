"""Small builders for request bodies."""

from __future__ import annotations

from typing import Any


def conversation(summary_id: str = "conv-1", **overrides: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "summaryType": "Conversation",
        "mediaType": "Call",
        "language": "en",
        "summaryId": summary_id,
        "sourceId": "genesys-flow-main",
        "summary": "Customer asked about roaming charges.",
        "generated": True,
        "dateCreated": "2025-12-23T15:30:00.000Z",
    }
    entity.update(overrides)
    return entity


def child(summary_id: str, parent: str | None, summary_type: str = "Agent", **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"summaryType": summary_type, "conversationId": parent, "agentId": "agent-1"}
    return conversation(summary_id, **{**fields, **overrides})


def batch(*entities: dict[str, Any]) -> dict[str, Any]:
    return {"entities": list(entities)}
