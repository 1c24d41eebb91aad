"""One server interceptor for every RPC: authentication, error-to-status mapping, access log."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import grpc

from services.common.errors import ParleyError, Unauthenticated

log = logging.getLogger("parley.rpc")

# Kubernetes probes and grpcurl must reach these without credentials.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

Authenticator = Callable[[Mapping[str, str]], bool]


def api_key_authenticator(keys: Iterable[str], header: str = "x-api-key") -> Authenticator:
    """Accepts a request whose `header` equals one of `keys`, compared in constant time."""
    accepted = [k.encode() for k in keys if k]

    def authenticate(metadata: Mapping[str, str]) -> bool:
        presented = metadata.get(header, "").encode()
        # Compare against every key so timing says nothing about which one matched.
        matches = [hmac.compare_digest(presented, key) for key in accepted]
        return bool(presented) and any(matches)

    return authenticate


def bearer_authenticator(tokens: Iterable[str]) -> Authenticator:
    """Accepts `authorization: Bearer <token>` with one of `tokens`."""
    check = api_key_authenticator(tokens, header="token")

    def authenticate(metadata: Mapping[str, str]) -> bool:
        scheme, _, token = metadata.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and check({"token": token.strip()})

    return authenticate


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates, turns ParleyError into its status code, and logs one line per RPC."""

    def __init__(self, authenticate: Authenticator) -> None:
        self._authenticate = authenticate
        # The wrapped handler depends only on the method and the verdict: build each once.
        self._wrapped: dict[tuple[str, bool], grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(PUBLIC_PREFIXES):
            return handler
        metadata = {k: v for k, v in details.invocation_metadata if isinstance(v, str)}
        key = (details.method, self._authenticate(metadata))
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = self._wrapped[key] = _wrap(handler, *key)
        return wrapped


def _wrap(handler: grpc.RpcMethodHandler, method: str, authorized: bool) -> grpc.RpcMethodHandler:
    if handler.unary_unary:
        inner = handler.unary_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with _Guard(method, authorized, context):
                return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        inner_stream = handler.unary_stream

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async with _Guard(method, authorized, context):
                async for item in inner_stream(request, context):
                    yield item

        return grpc.unary_stream_rpc_method_handler(
            stream, handler.request_deserializer, handler.response_serializer
        )
    return handler  # No client-streaming RPCs in Parley's contracts.


class _Guard:
    """Runs one RPC body: refuses it unauthenticated, maps errors, logs the outcome."""

    def __init__(self, method: str, authorized: bool, context: grpc.aio.ServicerContext) -> None:
        self._method = method
        self._authorized = authorized
        self._context = context
        self._start = time.perf_counter()

    async def __aenter__(self) -> None:
        if not self._authorized:
            self._log(grpc.StatusCode.UNAUTHENTICATED)
            await self._context.abort(Unauthenticated.code, Unauthenticated().message)

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any) -> bool:
        if error is None:
            self._log(grpc.StatusCode.OK, level=logging.DEBUG)
            return False
        if isinstance(error, ParleyError):
            self._log(error.code, error.message)
            await self._context.abort(error.code, error.message)
        if isinstance(error, asyncio.CancelledError):
            self._log(grpc.StatusCode.CANCELLED)
            return False
        if isinstance(error, grpc.aio.AbortError):
            return False
        log.exception("rpc=%s unhandled error", self._method, exc_info=error)
        self._log(grpc.StatusCode.INTERNAL)
        await self._context.abort(grpc.StatusCode.INTERNAL, "Internal error")
        return False

    def _log(self, code: grpc.StatusCode, detail: str = "", level: int | None = None) -> None:
        """Successes at DEBUG (the gateway's access log already has every request), failures above."""
        if level is None:
            serious = code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE)
            level = logging.WARNING if serious else logging.INFO
        if log.isEnabledFor(level):
            elapsed_ms = (time.perf_counter() - self._start) * 1000
            log.log(level, "rpc=%s code=%s ms=%.1f%s", self._method, code.name, elapsed_ms,
                    f" detail={detail!r}" if detail else "")
