"""No schema can make synth fetch a URL, read a file, or fail with a 5xx."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from testkit.fakes.ollama import FakeOllama
from tests.conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}


class Witness:
    """An HTTP server that only counts: any request it sees is a schema reaching out."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                witness.requests.append(self.path)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"type": "string"}')

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def witness() -> Iterator[Witness]:
    w = Witness()
    yield w
    w.server.shutdown()


def reaching_out(url: str) -> list[dict[str, Any]]:
    return [
        {"type": "object", "properties": {"a": {"$ref": f"{url}/remote.json"}}},
        {"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}},
        {"$id": f"{url}/base.json", "type": "object", "properties": {"a": {"$ref": "other.json"}}},
        {"type": "array", "items": {"type": "object", "properties": {"a": {"$ref": f"{url}/items.json#/x"}}}},
        {"type": "object", "$defs": {"unused": {"$ref": f"{url}/unused.json"}}},
    ]


async def test_references_outside_the_schema_are_refused_and_never_fetched(
    http: httpx.AsyncClient, witness: Witness, ollama: FakeOllama
) -> None:
    for schema in reaching_out(witness.url):
        response = await http.post("/api/v1/synthetic-data", headers=AUTH,
                                   json={"payload": {"prompt": "p", "count": 1, "schema": schema}})
        assert response.status_code == 400, response.text
        assert "points outside the schema" in response.json()["error"]
    assert witness.requests == []
    assert ollama.calls == []


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "object", "properties": {"a": {"$ref": "/"}}}, "points outside the schema"),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, "does not resolve inside the schema"),
    ({"$schema": 5, "type": "object"}, "$schema must be a string"),
    ({"type": "object", "properties": {"a": {"type": "string", "pattern": "(?=a)b"}}}, "patterns use RE2 syntax"),
    ({"type": "object", "patternProperties": {"(a)\\1": {}}}, "patterns use RE2 syntax"),
])
async def test_schema_errors_are_a_400(http: httpx.AsyncClient, schema: dict[str, Any], expected: str) -> None:
    response = await http.post("/api/v1/synthetic-data", headers=AUTH,
                               json={"payload": {"prompt": "p", "count": 1, "schema": schema}})
    assert response.status_code == 400, response.text
    assert expected in response.json()["error"]


async def test_references_inside_the_schema_still_work(http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    schema = {"type": "object", "$defs": {"name": {"type": "string"}},
              "properties": {"name": {"$ref": "#/$defs/name"}}, "required": ["name"]}
    response = await http.post("/api/v1/synthetic-data", headers=AUTH,
                               json={"payload": {"prompt": "p", "count": 2, "schema": schema}})
    assert response.status_code == 200, response.text
    assert all(isinstance(r["name"], str) for r in response.json()["data"])
