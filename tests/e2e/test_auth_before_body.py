"""Credentials are judged on headers alone: a refused request's body is never waited for."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from gateway.envoy import Gateway
from tests.conftest import API_KEY, TOKEN


def _headers_only(port: int, path: str, credential: str, wait: float) -> bytes:
    """Declares a 1,000,000-byte body, sends none of it, and returns what comes back within `wait`."""
    request = (f"POST {path} HTTP/1.1\r\nHost: parley\r\ncontent-type: application/json\r\n"
               f"content-length: 1000000\r\n{credential}\r\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request)
        s.settimeout(wait)
        try:
            return s.recv(65536)
        except TimeoutError:
            return b""


@pytest.mark.parametrize(("path", "wrong", "right"), [
    ("/api/conversations", "x-api-key: wrong\r\n", f"x-api-key: {API_KEY}\r\n"),
    ("/api/conversations", "", f"x-api-key: {API_KEY}\r\n"),
    ("/api/v1/synthetic-data", "authorization: Bearer wrong\r\n", f"authorization: Bearer {TOKEN}\r\n"),
])
async def test_a_wrong_or_missing_credential_is_refused_before_the_body(
    gateway: Gateway, path: str, wrong: str, right: str
) -> None:
    refused = await asyncio.to_thread(_headers_only, gateway.port, path, wrong, 10)
    waiting = await asyncio.to_thread(_headers_only, gateway.port, path, right, 0.5)

    head, _, body = refused.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 Unauthorized"), refused
    assert json.loads(body) == {"error": "Unauthorized"}
    assert waiting == b""  # an accepted credential waits for the body it declared
