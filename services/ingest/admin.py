"""KeyService: the admin RPCs over services/ingest/keys.py."""

from __future__ import annotations

from datetime import datetime

import grpc

from parley.admin.v1 import key_service_pb2 as pb
from parley.admin.v1 import key_service_pb2_grpc as pb_grpc
from services.common.errors import Unauthenticated
from services.common.keys import current_principal
from services.ingest import keys
from services.ingest.fields import format_timestamp
from services.ingest.storage import Storage


def _time(value: datetime | None) -> str:
    return format_timestamp(value) if value else ""


def _key(info: keys.KeyInfo) -> pb.Key:
    return pb.Key(name=info.name, scopes=info.scopes, create_time=_time(info.create_time),
                  last_used_time=_time(info.last_used_at), expire_time=_time(info.expires_at),
                  revoke_time=_time(info.revoked_at))


class KeyServicer(pb_grpc.KeyServiceServicer):
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def CreateKey(self, request: pb.CreateKeyRequest, context: grpc.aio.ServicerContext) -> pb.CreateKeyResponse:
        async with self._storage.connection() as conn:
            info, secret = await keys.create(conn, request.name, list(request.scopes), request.expires_in_days)
        return pb.CreateKeyResponse(key=_key(info), secret=secret)

    async def ListKeys(self, request: pb.ListKeysRequest, context: grpc.aio.ServicerContext) -> pb.ListKeysResponse:
        async with self._storage.connection() as conn:
            return pb.ListKeysResponse(keys=[_key(info) for info in await keys.listing(conn)])

    async def GetCallerKey(self, request: pb.GetCallerKeyRequest,
                           context: grpc.aio.ServicerContext) -> pb.GetCallerKeyResponse:
        principal = current_principal.get()
        if principal is None:  # the interceptor judged the call: never without a key
            raise Unauthenticated()
        return pb.GetCallerKeyResponse(key=pb.Key(name=principal.name, scopes=sorted(principal.scopes)))

    async def RevokeKey(self, request: pb.RevokeKeyRequest, context: grpc.aio.ServicerContext) -> pb.RevokeKeyResponse:
        async with self._storage.connection() as conn:
            return pb.RevokeKeyResponse(key=_key(await keys.revoke(conn, request.name)))

    async def RotateKey(self, request: pb.RotateKeyRequest, context: grpc.aio.ServicerContext) -> pb.RotateKeyResponse:
        async with self._storage.connection() as conn:
            info, secret = await keys.rotate(conn, request.name)
        return pb.RotateKeyResponse(key=_key(info), secret=secret)
