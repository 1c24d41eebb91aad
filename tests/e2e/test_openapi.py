"""GET /api/openapi.json: an OpenAPI 3.1 document generated from proto/, valid, and every
operation in it answers through the gateway (no 404 for a missing route, no 405)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
from openapi_spec_validator import validate

from testkit.fakes.ollama import FakeOllama
from tests.conftest import API_KEY, TOKEN


async def test_the_document_is_valid_openapi(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    document = response.json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    create = document["paths"]["/api/conversations"]["post"]
    assert create["operationId"] == "CreateConversations" and create["summary"]
    entity = document["components"]["schemas"]["parley_ingest_v1_ConversationEntity"]["properties"]
    assert {"summaryType", "mediaType", "summaryId", "dateCreated", "insights"} <= set(entity)


async def test_every_operation_answers(http: httpx.AsyncClient, db: asyncpg.Connection, ollama: FakeOllama) -> None:
    document: dict[str, Any] = (await http.get("/api/openapi.json")).json()
    operations = [(path, verb) for path, item in document["paths"].items() for verb in item]
    assert len(operations) >= 10
    for path, verb in operations:
        url = path.replace("{summaryId}", "none-such").replace("{name}", "none-such")
        credential = {"authorization": f"Bearer {TOKEN}"} if "synthetic" in path else {"x-api-key": API_KEY}
        body: dict[str, Any] | None = {} if "requestBody" in document["paths"][path][verb] else None
        response = await http.request(verb.upper(), url, headers=credential, json=body)
        assert response.status_code != 405, (verb, path, response.text)
        if response.headers["content-type"] == "application/json":
            assert response.json() != {"error": "Not found"}, (verb, path)  # the gateway's own "no such route"
        else:  # a raw body, one of the media types documented
            assert response.status_code == 200, (verb, path)
            assert response.headers["content-type"].split(";")[0] in document["paths"][path][verb]["responses"][
                "200"]["content"], (verb, path)
