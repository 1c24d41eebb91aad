"""ConversationService: translates proto <-> domain <-> storage, nothing else."""

from __future__ import annotations

from typing import Any

import grpc

from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from services.common.errors import NotFound
from services.common.values import to_python
from services.ingest import domain, paging
from services.ingest.storage import Storage, Stored

# (JSON name, proto attribute) of the plain string fields of an entity.
_STRING_FIELDS = tuple(
    (f.json_name, f.name)
    for f in pb.ConversationEntity.DESCRIPTOR.fields
    if f.type == f.TYPE_STRING
)


class ConversationServicer(pb_grpc.ConversationServiceServicer):
    def __init__(self, storage: Storage, max_entities: int) -> None:
        self._storage = storage
        self._max_entities = max_entities

    async def CreateConversations(
        self, request: pb.CreateConversationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateConversationsResponse:
        domain.check_size(len(request.entities), self._max_entities)
        entities = [domain.parse_entity(_entity_fields(e, i), i) for i, e in enumerate(request.entities)]
        domain.check_batch(entities)
        created = await self._storage.create(entities)
        return pb.CreateConversationsResponse(
            success=True,
            inserted=created.inserted,
            conversations=[
                pb.CreatedConversation(id=created.ids[e.summary_id], summary_id=e.summary_id) for e in entities
            ],
        )

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetConversationResponse:
        stored = await self._storage.get(request.summary_id)
        if stored is None:
            raise NotFound(f"Conversation summary '{request.summary_id}' not found")
        return pb.GetConversationResponse(conversation=_to_proto(stored))

    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConversationsResponse:
        filters = {name: getattr(request, _snake(name)) for name in paging.FILTER_COLUMNS}
        query, fingerprint = paging.build_query(
            filters, request.date_created_from, request.date_created_to, request.page_size, request.page_token
        )
        rows = await self._storage.list(query)
        page, more = rows[: query.limit - 1], len(rows) >= query.limit
        token = ""
        if more:
            last = page[-1].row
            token = paging.next_token(last["date_created"], last["id"], fingerprint)
        return pb.ListConversationsResponse(conversations=[_to_proto(s) for s in page], next_page_token=token)

    async def DeleteConversation(
        self, request: pb.DeleteConversationRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteConversationResponse:
        deleted = await self._storage.delete(request.summary_id)
        if not deleted:
            raise NotFound(f"Conversation summary '{request.summary_id}' not found")
        return pb.DeleteConversationResponse(summary_id=request.summary_id, deleted=deleted)


def _entity_fields(entity: pb.ConversationEntity, index: int) -> dict[str, Any]:
    """The entity as JSON-named fields; "" and unset fields are left out, so "absent" is one thing."""
    fields: dict[str, Any] = {name: getattr(entity, attr) for name, attr in _STRING_FIELDS}
    fields = {name: value for name, value in fields.items() if value != ""}
    if entity.HasField("generated"):
        fields["generated"] = entity.generated
    if entity.HasField("insights"):
        fields["insights"] = domain.parse_insights(to_python(entity.insights), index)
    return fields


def _snake(json_name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in json_name)


def _to_proto(stored: Stored) -> pb.Conversation:
    row = stored.row
    return pb.Conversation(
        id=row["id"],
        summary_type=row["summary_type"],
        media_type=row["media_type"],
        language=row["language"],
        summary_id=row["summary_id"],
        agent_id=row["agent_id"],
        source_id=row["source_id"],
        summary=row["summary"],
        generated=row["generated"],
        date_created=domain.format_timestamp(row["date_created"]),
        conversation_id=row["conversation_id"],
        insights=[
            pb.Insight(type=i["type"], title=i["title"], description=i["description"], outcome=i["outcome"])
            for i in stored.insights
        ],
        children=[_to_proto(child) for child in stored.children],
        create_time=domain.format_timestamp(row["create_time"]),
    )
