"""Envoy's external authorization (envoy.service.auth.v3), answered by each service itself.

The gateway asks before it reads a large request body: a missing or wrong key, a key
without the method's scope, or one over its rate is refused on headers alone, with the
same verdict the service's own interceptor would give (both ask the Guard).
"""

from __future__ import annotations

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2 as pb
from envoy.service.auth.v3 import external_auth_pb2_grpc as pb_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import code_pb2, status_pb2

from services.common.errors import ParleyError
from services.common.guard import Guard

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Authorization"].full_name

_ALLOWED = pb.CheckResponse(status=status_pb2.Status(code=code_pb2.OK), ok_response=pb.OkHttpResponse())


def _denied(error: ParleyError) -> pb.CheckResponse:
    headers = [base_pb2.HeaderValueOption(header=base_pb2.HeaderValue(key=k, value=v))
               for k, v in error.trailing_metadata() if k == "retry-after"]
    return pb.CheckResponse(
        status=status_pb2.Status(code=error.code.value[0]),
        denied_response=pb.DeniedHttpResponse(
            status=http_status_pb2.HttpStatus(code=error.http_status),
            # The gateway's local-reply format wraps this text as {"error": "..."}.
            body=error.message,
            headers=headers,
        ),
    )


class AuthorizationServicer(pb_grpc.AuthorizationServicer):
    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    async def Check(self, request: pb.CheckRequest, context: grpc.aio.ServicerContext) -> pb.CheckResponse:
        http = request.attributes.request.http
        # The transcoder has already turned a REST path into its gRPC method; names are lower-case.
        verdict = await self._guard.judge(http.path, http.headers, count=False)
        return _ALLOWED if verdict.refusal is None else _denied(verdict.refusal)


def register(server: grpc.aio.Server, guard: Guard) -> None:
    pb_grpc.add_AuthorizationServicer_to_server(AuthorizationServicer(guard), server)
