"""Ingest's own errors: what storage finds, worded once for the client."""

from __future__ import annotations

from services.common.errors import AlreadyExists, NotFound

# A parent that is not stored is NOT_FOUND (AIP-133): the request is well formed, and the
# same request succeeds once the parent is stored.


class MissingParent(NotFound):
    def __init__(self, index: int, conversation_id: str, found_type: str | None) -> None:
        what = "no stored summary" if found_type is None else f"a {found_type} summary, not a Conversation"
        super().__init__(
            f"entities[{index}].conversationId '{conversation_id}' names {what}; "
            "send the parent Conversation first or earlier in the same batch"
        )


class ParentDeleted(NotFound):
    def __init__(self) -> None:
        super().__init__("A conversationId names a Conversation that was just deleted")


class ContentConflict(AlreadyExists):
    def __init__(self, summary_id: str) -> None:
        super().__init__(f"summaryId '{summary_id}' is already stored with different content")


class ChangedWhileStoring(AlreadyExists):
    """Skipped as already stored, then deleted before it could be read back: the client retries."""

    def __init__(self) -> None:
        super().__init__("A summaryId in this batch changed while it was being stored; retry the request")


class GenesysIdTaken(AlreadyExists):
    """Another Conversation already carries this Genesys conversation id."""

    def __init__(self) -> None:
        super().__init__(
            "A Conversation summary in this batch has a conversationId that another Conversation summary "
            "already has: one Conversation summary per Genesys conversation"
        )
