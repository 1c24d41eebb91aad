"""Domain errors, each bound to the one gRPC status code it maps to."""

from __future__ import annotations

import grpc


class ParleyError(Exception):
    """An error whose message is safe to show the client verbatim."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(ParleyError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthenticated(ParleyError):
    code = grpc.StatusCode.UNAUTHENTICATED

    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message)


class NotFound(ParleyError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ParleyError):
    code = grpc.StatusCode.ALREADY_EXISTS


class TooLarge(ParleyError):
    """The gateway answers RESOURCE_EXHAUSTED with HTTP 413."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ParleyError):
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ParleyError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED

