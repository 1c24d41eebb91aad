"""Envoy's external authorization (envoy.service.auth.v3), answered by each service itself.

The gateway asks before it reads a request's body: a missing or wrong credential is
refused on headers alone, so an anonymous 1 MiB body costs the gateway nothing more
than its headers. The service's own AuthInterceptor stays as the second line.
"""

from __future__ import annotations

import grpc
from envoy.service.auth.v3 import external_auth_pb2 as pb
from envoy.service.auth.v3 import external_auth_pb2_grpc as pb_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import code_pb2, status_pb2

from services.common.errors import Unauthenticated
from services.common.interceptors import Authenticator

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Authorization"].full_name

_ALLOWED = pb.CheckResponse(status=status_pb2.Status(code=code_pb2.OK), ok_response=pb.OkHttpResponse())
_REFUSED = pb.CheckResponse(
    status=status_pb2.Status(code=code_pb2.UNAUTHENTICATED),
    denied_response=pb.DeniedHttpResponse(
        status=http_status_pb2.HttpStatus(code=http_status_pb2.Unauthorized),
        # The gateway's local-reply format wraps this text as {"error": "..."}.
        body=Unauthenticated().message,
    ),
)


class AuthorizationServicer(pb_grpc.AuthorizationServicer):
    def __init__(self, authenticate: Authenticator) -> None:
        self._authenticate = authenticate

    async def Check(self, request: pb.CheckRequest, context: grpc.aio.ServicerContext) -> pb.CheckResponse:
        headers = request.attributes.request.http.headers  # lower-case names, as gRPC metadata has them
        return _ALLOWED if self._authenticate(headers) else _REFUSED


def register(server: grpc.aio.Server, authenticate: Authenticator) -> None:
    pb_grpc.add_AuthorizationServicer_to_server(AuthorizationServicer(authenticate), server)
