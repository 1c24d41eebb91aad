"""Domain errors and the one table from gRPC status code to the HTTP status Parley answers.

The gateway's Lua filter gets its table from `HTTP_STATUS` when the Envoy config is
rendered (gateway/render.py), and synth's in-band stream errors read the same table,
so REST and gRPC cannot disagree.
"""

from __future__ import annotations

import grpc

_C = grpc.StatusCode

# Every gRPC code: Google's mapping (google/rpc/code.proto), except where Parley's
# contract differs: RESOURCE_EXHAUSTED means "request too large" (413).
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    _C.OK: 200,
    _C.CANCELLED: 499,
    _C.UNKNOWN: 500,
    _C.INVALID_ARGUMENT: 400,
    _C.DEADLINE_EXCEEDED: 504,
    _C.NOT_FOUND: 404,
    _C.ALREADY_EXISTS: 409,
    _C.PERMISSION_DENIED: 403,
    _C.RESOURCE_EXHAUSTED: 413,
    _C.FAILED_PRECONDITION: 400,
    _C.ABORTED: 409,
    _C.OUT_OF_RANGE: 400,
    _C.UNIMPLEMENTED: 501,
    _C.INTERNAL: 500,
    _C.UNAVAILABLE: 503,
    _C.DATA_LOSS: 500,
    _C.UNAUTHENTICATED: 401,
}


HTTP_STATUS_HEADER = "x-parley-http-status"


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS.get(code, 500)


class ParleyError(Exception):
    """An error whose message is safe to show the client verbatim."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    # Where REST must answer other than HTTP_STATUS[code]; travels to the gateway as
    # trailing metadata (HTTP_STATUS_HEADER), which its Lua filter honours.
    http_override: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def http_status(self) -> int:
        return self.http_override or http_status(self.code)

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return ((HTTP_STATUS_HEADER, str(self.http_override)),) if self.http_override else ()


class InvalidArgument(ParleyError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthenticated(ParleyError):
    code = grpc.StatusCode.UNAUTHENTICATED

    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message)


class PermissionDenied(ParleyError):
    code = grpc.StatusCode.PERMISSION_DENIED


class RateLimited(ParleyError):
    """Too many requests for this key: RESOURCE_EXHAUSTED to gRPC, 429 to REST, with Retry-After."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    http_override = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return (*super().trailing_metadata(), ("retry-after", str(self.retry_after)))


class NotFound(ParleyError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ParleyError):
    code = grpc.StatusCode.ALREADY_EXISTS


class TooLarge(ParleyError):
    """Request too large: RESOURCE_EXHAUSTED, which the table answers with HTTP 413."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ParleyError):
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ParleyError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED
