"""Server interceptors, one purpose each: authentication, and error-to-status mapping with the access log.

Composed as `[StatusInterceptor(), AuthInterceptor(guard)]`: the status interceptor is
outermost, so it logs every outcome, refusals included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from services.common import metrics
from services.common.errors import InvalidArgument, ParleyError
from services.common.guard import Guard
from services.common.keys import current_key, current_principal, current_request

log = logging.getLogger("parley.rpc")

# Kubernetes probes and grpcurl must reach these without credentials, and the gateway's
# credential check (services/common/authz.py) is itself the judge of credentials.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.", "/envoy.service.auth.v3.Authorization/")

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]]


def _request_id(details: grpc.HandlerCallDetails) -> str:
    """The gateway's x-request-id (bounded, printable), or a new one for a call straight to this port."""
    for name, value in details.invocation_metadata:
        if name == "x-request-id" and isinstance(value, str) and value.isprintable() and len(value) <= 64:
            return value
    return uuid.uuid4().hex


def _guarded(handler: grpc.RpcMethodHandler | None, details: grpc.HandlerCallDetails) -> bool:
    """Whether the interceptors act on this call: a known method that is not public."""
    return handler is not None and not details.method.startswith(PUBLIC_PREFIXES)


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Refuses a call the Guard refuses (401, 403, 429) before its request message is even
    deserialized, and names the caller's key for every log line of the call."""

    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if not _guarded(handler, details):
            return handler
        metadata = {k: v for k, v in details.invocation_metadata if isinstance(v, str)}
        verdict = await self._guard.judge(details.method, metadata)
        if verdict.principal:
            current_principal.set(verdict.principal)
            current_key.set(verdict.principal.name + (f" client={verdict.client}" if verdict.client else ""))
        if verdict.refusal is None:
            return handler
        return _refusal(handler, verdict.refusal)


def _refusal(handler: grpc.RpcMethodHandler, error: ParleyError) -> grpc.RpcMethodHandler:
    async def refuse(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(error.code, error.message, trailing_metadata=error.trailing_metadata())

    async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await refuse(request, context)
        yield  # never reached: the yield makes this an async generator, as stream handlers are

    # No request deserializer: the refused request stays bytes, never parsed.
    serialize = handler.response_serializer
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(refuse, None, serialize)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(refuse_stream, None, serialize)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(refuse, None, serialize)
    return grpc.stream_stream_rpc_method_handler(refuse_stream, None, serialize)


class StatusInterceptor(grpc.aio.ServerInterceptor):
    """Turns ParleyError into its status code, anything unexpected into INTERNAL, and logs
    one line per RPC."""

    def __init__(self) -> None:
        # The wrapped handler depends only on the method and the inner handler: build each once.
        self._wrapped: dict[tuple[str, grpc.RpcMethodHandler], grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if not _guarded(handler, details):
            return handler
        current_request.set(_request_id(details))
        key = (details.method, handler)
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = self._wrapped[key] = _wrap(handler, details.method)
        return wrapped


class _Undecodable:
    """A request message that could not be parsed, carried to the handler to answer 400."""

    def check(self) -> None:
        raise InvalidArgument(
            "The request could not be decoded: a string is not valid UTF-8, or values are nested too deeply"
        )


def _tolerant(parse: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A deserializer that never raises: gRPC would answer a parse failure with INTERNAL."""
    if parse is None:
        return None

    def parse_or_mark(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError:
            return _Undecodable()

    return parse_or_mark


def _wrap(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    parse, serialize = _tolerant(handler.request_deserializer), handler.response_serializer
    if handler.unary_unary or handler.stream_unary:
        inner = handler.unary_unary or handler.stream_unary

        async def single(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with _Outcome(method, context):
                if isinstance(request, _Undecodable):
                    request.check()
                return await inner(request, context)

        make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        return make(single, parse, serialize)
    if handler.unary_stream:
        inner_stream = handler.unary_stream

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async with _Outcome(method, context):
                if isinstance(request, _Undecodable):
                    request.check()
                async with contextlib.aclosing(inner_stream(request, context)) as items:
                    async for item in items:
                        yield item

        return grpc.unary_stream_rpc_method_handler(stream, parse, serialize)
    return handler  # bidirectional streams: only reflection, which is public


class _Outcome:
    """Maps how one RPC body ended to its status, and logs it."""

    def __init__(self, method: str, context: grpc.aio.ServicerContext) -> None:
        self._method = method
        self._context = context
        self._start = time.perf_counter()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any) -> bool:
        if error is None:
            self._log(grpc.StatusCode.OK, level=logging.DEBUG)
        elif isinstance(error, ParleyError):
            # A message may quote the client's input, lone surrogates and all: gRPC sends UTF-8 only.
            message = error.message.encode("utf-8", "backslashreplace").decode("utf-8")
            self._log(error.code, message)
            await self._context.abort(error.code, message, trailing_metadata=error.trailing_metadata())
        elif isinstance(error, asyncio.CancelledError | GeneratorExit):
            # The client went away (or closed a stream early): a normal end, not a failure.
            self._log(grpc.StatusCode.CANCELLED, level=logging.INFO)
        elif isinstance(error, grpc.aio.AbortError):
            self._log(self._context.code() or grpc.StatusCode.UNKNOWN, self._context.details() or "")
        else:
            log.exception("rpc=%s unhandled error", self._method, exc_info=error)
            self._log(grpc.StatusCode.INTERNAL)
            await self._context.abort(grpc.StatusCode.INTERNAL, "Internal error")
        return False

    def _log(self, code: grpc.StatusCode, detail: str = "", level: int | None = None) -> None:
        """Counts the RPC; logs successes at DEBUG (the gateway's access log already has every
        request), failures above."""
        elapsed = time.perf_counter() - self._start
        metrics.RPCS.labels(self._method, code.name).inc()
        metrics.RPC_SECONDS.labels(self._method).observe(elapsed)
        if level is None:
            serious = code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE)
            level = logging.WARNING if serious else logging.INFO
        if log.isEnabledFor(level):
            log.log(level, "rpc=%s code=%s ms=%.1f%s", self._method, code.name, elapsed * 1000,
                    f" detail={detail!r}" if detail else "")
