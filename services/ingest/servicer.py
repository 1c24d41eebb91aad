"""ConversationService: maps proto <-> domain values, calls the domain rules and storage, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.api import httpbody_pb2

from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.ingest.v1 import ingest_service_pb2_grpc as pb_grpc
from services.common import metrics
from services.common.errors import InvalidArgument, NotFound, ParleyError, RateLimited
from services.common.values import to_python
from services.ingest import analytics, domain, export, importer, paging
from services.ingest.fields import lookup_problem
from services.ingest.model import Filters, Summary
from services.ingest.storage import Storage

# The entity's plain string fields, by proto name (which is the domain's attribute name).
_STRING_FIELDS = tuple(f.name for f in pb.ConversationEntity.DESCRIPTOR.fields if f.type == f.TYPE_STRING)


# Rows a chunk of an export (one streamed message), and selected rows a delete statement.
EXPORT_CHUNK_ROWS = 1000
DELETE_CHUNK_ROWS = 5000


@dataclass(frozen=True)
class Imports:
    most: int = 2  # in progress at once
    chunk_lines: int = 5000  # per transaction
    max_line_bytes: int = 1024 * 1024


class ConversationServicer(pb_grpc.ConversationServiceServicer):
    def __init__(self, storage: Storage, max_entities: int, pager: paging.Pager, max_exports: int = 2,
                 imports: Imports = Imports(), strict_hierarchy: bool = False) -> None:
        self._storage = storage
        self._strict_hierarchy = strict_hierarchy
        self._max_entities = max_entities
        self._pager = pager
        # Each export holds a pooled connection for as long as its client reads.
        self._exports = asyncio.Semaphore(max_exports)
        self._imports = imports
        self._importing = asyncio.Semaphore(imports.most)

    async def CreateConversations(
        self, request: pb.CreateConversationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateConversationsResponse:
        try:
            domain.check_size(len(request.entities), self._max_entities)
            entities = [domain.parse_entity(_entity_fields(e, i), i) for i, e in enumerate(request.entities)]
            created = await self._storage.create(domain.prepare(entities, strict_hierarchy=self._strict_hierarchy))
        except ParleyError:
            metrics.ENTITIES.labels("rejected").inc(len(request.entities))
            raise
        metrics.ENTITIES.labels("stored").inc(created.inserted)
        metrics.ENTITIES.labels("replayed").inc(len(entities) - created.inserted)
        return pb.CreateConversationsResponse(
            success=True,
            inserted=created.inserted,
            conversations=[
                pb.CreatedConversation(id=created.ids[e.summary_id], summary_id=e.summary_id) for e in entities
            ],
        )

    async def ImportConversations(
        self, request_iterator: AsyncIterator[httpbody_pb2.HttpBody], context: grpc.aio.ServicerContext
    ) -> pb.ImportConversationsResponse:
        if self._importing.locked():
            raise RateLimited("Too many imports in progress; retry shortly", retry_after=5)
        async with self._importing:
            progress = await importer.run(_import_data(request_iterator), self._storage.import_chunk,
                                          chunk_lines=self._imports.chunk_lines,
                                          max_line_bytes=self._imports.max_line_bytes,
                                          strict_hierarchy=self._strict_hierarchy)
        metrics.ENTITIES.labels("stored").inc(progress.inserted)
        metrics.ENTITIES.labels("replayed").inc(progress.replayed)
        return pb.ImportConversationsResponse(lines=progress.lines, inserted=progress.inserted,
                                              replayed=progress.replayed, chunks=progress.chunks)

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetConversationResponse:
        summary = await self._storage.get(_lookup_id(request.summary_id))
        if summary is None:
            raise NotFound(f"Conversation summary '{request.summary_id}' not found")
        return pb.GetConversationResponse(conversation=_to_proto(summary))

    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConversationsResponse:
        text = _text_filters(request)
        listing = self._pager.list_request(
            text, request.generated if request.HasField("generated") else None, request.order_by,
            request.date_created_from, request.date_created_to, request.page_size, request.page_token,
        )
        page = await self._storage.list(listing.query)
        return pb.ListConversationsResponse(
            conversations=[_to_proto(s) for s in page.summaries],
            next_page_token=self._pager.next_token(page.next_cursor, listing.fingerprint),
        )

    async def GetConversationStats(
        self, request: pb.GetConversationStatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetConversationStatsResponse:
        grouping = analytics.grouping(request.group_by, request.limit)
        stats = await self._storage.stats(_filters(request), grouping)
        return pb.GetConversationStatsResponse(
            total=stats.total, groups=[pb.StatsGroup(key=key, count=count) for key, count in stats.groups])

    async def ListTopInsights(
        self, request: pb.ListTopInsightsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTopInsightsResponse:
        kind, limit = analytics.top(request.type, request.limit)
        top = await self._storage.top_insights(_filters(request), kind, limit)
        return pb.ListTopInsightsResponse(insights=[
            pb.TopInsight(type=t.type, title=t.title, count=t.count, resolved_share=t.resolved_share) for t in top])

    async def ExportConversations(
        self, request: pb.ExportConversationsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[httpbody_pb2.HttpBody]:
        form, filters = export.form(request.format), _filters(request)
        if self._exports.locked():
            raise RateLimited("Too many exports in progress; retry shortly", retry_after=5)
        async with self._exports:
            content_type = export.CONTENT_TYPES[form]
            # The first message carries the content type, and goes out before the first row is read.
            yield httpbody_pb2.HttpBody(content_type=content_type, data=export.head(form))
            rows = self._storage.export(filters, form, EXPORT_CHUNK_ROWS)
            async with contextlib.aclosing(rows):
                async for chunk in rows:
                    metrics.EXPORTED.inc(len(chunk))
                    yield httpbody_pb2.HttpBody(content_type=content_type, data=export.chunk(chunk))

    async def BatchDeleteConversations(
        self, request: pb.BatchDeleteConversationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchDeleteConversationsResponse:
        filters = _filters(request)
        if filters.date_to is None:
            raise InvalidArgument("dateCreatedTo is required: only summaries created before it are deleted")
        if request.dry_run:
            deleted, conversations = await self._storage.count_deletable(filters)
        else:
            deleted, conversations = await self._storage.delete_many(filters, DELETE_CHUNK_ROWS)
        return pb.BatchDeleteConversationsResponse(deleted=deleted, conversations=conversations,
                                                   dry_run=request.dry_run)

    async def delete_older_than(self, days: int) -> int:
        """Retention: deletes the summaries created more than `days` ago (with their
        children, whatever their own age); returns how many went."""
        cutoff = datetime.now(UTC) - timedelta(days=days)
        deleted, _ = await self._storage.delete_many(Filters(date_to=cutoff), DELETE_CHUNK_ROWS)
        return deleted

    async def DeleteConversation(
        self, request: pb.DeleteConversationRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteConversationResponse:
        deleted = await self._storage.delete(_lookup_id(request.summary_id))
        if not deleted:
            raise NotFound(f"Conversation summary '{request.summary_id}' not found")
        return pb.DeleteConversationResponse(summary_id=request.summary_id, deleted=deleted)


FilteredRequest = (pb.ListConversationsRequest | pb.GetConversationStatsRequest | pb.ListTopInsightsRequest
                   | pb.ExportConversationsRequest | pb.BatchDeleteConversationsRequest)


def _text_filters(request: FilteredRequest) -> dict[str, str]:
    text = {name: getattr(request, "q" if name == "text" else name) for name in paging.TEXT_FILTERS}
    # A query string's "+" is a space (form encoding), which the transcoder leaves as "+";
    # it means nothing in the search syntax, so nothing is lost.
    text["text"] = text["text"].replace("+", " ")
    return text


def _filters(request: FilteredRequest) -> Filters:
    return paging.checked_filters(
        _text_filters(request), request.generated if request.HasField("generated") else None,
        request.date_created_from, request.date_created_to)


def _lookup_id(summary_id: str) -> str:
    """An id to look up: anything that could have been stored, so ids stored before today's
    rules stay reachable; NUL and overlong ids could never have been."""
    problem = lookup_problem(summary_id)
    if problem:
        raise InvalidArgument(f"summaryId {problem}")
    return summary_id


async def _import_data(messages: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    async for message in messages:
        if not isinstance(message, httpbody_pb2.HttpBody):  # undecodable: the interceptor marked it
            message.check()
        yield message.data


def _entity_fields(entity: pb.ConversationEntity, index: int) -> dict[str, Any]:
    """The entity's fields by attribute name; "" and unset fields are left out, so "absent" is one thing."""
    fields: dict[str, Any] = {name: value for name in _STRING_FIELDS if (value := getattr(entity, name)) != ""}
    if entity.HasField("generated"):
        fields["generated"] = entity.generated
    if entity.HasField("insights"):
        fields["insights"] = domain.parse_insights(to_python(entity.insights), index)
    return fields


def _to_proto(summary: Summary) -> pb.Conversation:
    return pb.Conversation(
        id=summary.id,
        summary_type=summary.summary_type,
        media_type=summary.media_type,
        language=summary.language,
        summary_id=summary.summary_id,
        agent_id=summary.agent_id,
        source_id=summary.source_id,
        summary=summary.summary,
        generated=summary.generated,
        date_created=domain.format_timestamp(summary.date_created),
        conversation_id=summary.shown_conversation_id,
        parent_summary_id=summary.conversation_id,
        insights=[
            pb.Insight(type=i.type, title=i.title, description=i.description, outcome=i.outcome)
            for i in summary.insights
        ],
        children=[_to_proto(child) for child in summary.children],
        create_time=domain.format_timestamp(summary.create_time),
        snippet=summary.snippet or None,  # only a search has one
    )
