"""Generated hostile input through the real gateway (Hypothesis): thousands of requests, and
every reply is a success or a 4xx {"error": "<words>"}, never a 5xx, never internals.

PARLEY_FUZZ_EXAMPLES scales the run (default 400 per test, about 3,600 requests in all);
PARLEY_FUZZ_RANDOM=1 explores new cases instead of the fixed, reproducible sequence CI runs.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.envoy import Gateway
from testkit.fakes.ollama import FakeOllama
from tests.conftest import API_KEY, TOKEN
from tests.factories import conversation

EXAMPLES = int(os.environ.get("PARLEY_FUZZ_EXAMPLES", "400"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    derandomize=os.environ.get("PARLEY_FUZZ_RANDOM") != "1",
                    suppress_health_check=list(HealthCheck))
LEAKS = ("Traceback", "asyncpg", "google.protobuf", "DecodeError", "TYPE_", "type.googleapis.com",
         "/work/", "site-packages", "SELECT ", "INSERT ", "psycopg", "Exception", "x-api-key:")
INGEST = {"x-api-key": API_KEY}
SYNTH = {"authorization": f"Bearer {TOKEN}"}

# Text of every kind: control characters, NUL, lone surrogates (sent as \\ud800 escapes), emoji.
text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["", " ", "\u0000", "..", "/", "a/b", "%2F", "${input.x}", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
     "\ud800", "1e999", "-1", "true", "null", "x" * 300])
scalars = st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats() | text
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(text, inner, max_size=4), max_leaves=12)
ENTITY_FIELDS = ["summaryType", "mediaType", "language", "summaryId", "agentId", "sourceId", "summary",
                 "generated", "dateCreated", "conversationId", "insights", "unknownField"]


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), response.text[:300]
        body = response.json()
        assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"].strip(), body
        assert not [leak for leak in LEAKS if leak in body["error"]], body


def dumps(value: Any) -> bytes:
    # allow_nan: Infinity and NaN go out as the invalid JSON they are.
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def hostile_entity(draw: st.DrawFn, prefix: str) -> dict[str, Any]:
    """A valid entity with up to three fields set to any JSON value."""
    entity: dict[str, Any] = conversation(f"{prefix}-{draw(st.integers(0, 10**6))}")
    for name in draw(st.lists(st.sampled_from(ENTITY_FIELDS), max_size=3)):
        entity[name] = draw(json_values)
    return entity


@st.composite
def entity_bodies(draw: st.DrawFn) -> bytes:
    entities = [draw(hostile_entity(f"gen-{i}")) for i in range(draw(st.integers(min_value=0, max_value=3)))]
    body: Any = {"entities": entities}
    if draw(st.booleans()):
        body = draw(st.sampled_from([body, {"entities": draw(json_values)}, draw(json_values)]))
    return dumps(body)


@st.composite
def import_bodies(draw: st.DrawFn) -> bytes:
    """NDJSON with entity lines gone wrong in every way, lines of any JSON, and raw bytes."""
    lines = [draw(st.sampled_from([dumps(draw(hostile_entity(f"imp-{i}"))), dumps(draw(json_values)),
                                   draw(st.binary(max_size=60))]))
             for i in range(draw(st.integers(min_value=0, max_value=5)))]
    return b"\n".join(lines)


def _query(params: list[tuple[str, str]]) -> str:
    """A query string of any text, lone surrogates included (as their UTF-8-like bytes)."""
    return "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'))}={quote(v.encode('utf-8', 'surrogatepass'))}"
                    for k, v in params)


async def run_in_thread(gateway: Gateway, test: Callable[[httpx.Client], None]) -> None:
    """Hypothesis drives a blocking client from a thread: the in-process services keep this loop."""

    def run() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{gateway.port}", timeout=30) as client:
            test(client)

    await asyncio.to_thread(run)


async def test_generated_conversation_bodies(gateway: Gateway) -> None:
    @SETTINGS
    @given(body=entity_bodies(), content_type=st.sampled_from(["application/json", "text/plain", "", "x/y"]))
    def post(client: httpx.Client, body: bytes, content_type: str) -> None:
        check(client.post("/api/conversations", content=body, headers={**INGEST, "content-type": content_type}))

    await run_in_thread(gateway, lambda client: post(client))


async def test_generated_imports(gateway: Gateway) -> None:
    @SETTINGS
    @given(body=import_bodies(), content_type=st.sampled_from(["application/x-ndjson", "application/json", ""]))
    def post(client: httpx.Client, body: bytes, content_type: str) -> None:
        check(client.post("/api/conversations:import", content=body,
                          headers={**INGEST, "content-type": content_type}))

    await run_in_thread(gateway, lambda client: post(client))


async def test_generated_queries_and_paths(gateway: Gateway) -> None:
    keys = st.sampled_from(["summaryType", "mediaType", "language", "agentId", "sourceId", "conversationId",
                            "dateCreatedFrom", "dateCreatedTo", "pageSize", "pageToken", "q"]) | text

    @SETTINGS
    @given(params=st.lists(st.tuples(keys, text), max_size=4), segment=text,
           method=st.sampled_from(["GET", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]))
    def get(client: httpx.Client, params: list[tuple[str, str]], segment: str, method: str) -> None:
        query = _query(params)
        check(client.get(f"/api/conversations?{query}", headers=INGEST))
        path = f"/api/conversations/{quote(segment.encode('utf-8', 'surrogatepass'), safe='')}"
        response = client.request(method, path or "/", headers=INGEST)
        if method != "HEAD":  # a HEAD reply has no body to check
            check(response)

    await run_in_thread(gateway, lambda client: get(client))


# The filters every read of the analytics routes takes, and each route's own parameters.
FILTERS = ["summaryType", "mediaType", "language", "agentId", "sourceId", "conversationId", "dateCreatedFrom",
           "dateCreatedTo", "q", "insightType", "outcome", "generated"]
ANALYTICS = {"/api/conversations:stats": ["groupBy", "limit"], "/api/insights:top": ["type", "limit"],
             "/api/conversations:export": ["format"]}


async def test_generated_analytics_queries_and_batch_deletes(gateway: Gateway) -> None:
    """Stats, top insights, export and batch delete with filters and parameters of any text,
    over a few stored summaries, so the queries have rows to read."""
    body = {"entities": [conversation(f"an-{n}", summary="Customer asked for a refund") for n in range(3)]}
    route = st.sampled_from(sorted(ANALYTICS))
    cutoffs = st.sampled_from(["0001-01-01T00:00:00Z", "2030-01-01T00:00:00Z"])
    # A cutoff (required) with a dry run or not, up to two filters of any value, or any JSON at all.
    extras = st.dictionaries(st.sampled_from(FILTERS) | text, cutoffs | text | json_values, max_size=2)
    deletes = st.builds(lambda cutoff, dry, extra: {"dateCreatedTo": cutoff, "dryRun": dry, **extra},
                        cutoffs, st.booleans() | json_values, extras) | json_values

    @SETTINGS
    @given(path=route, chosen=st.data(), delete=deletes)
    def read(client: httpx.Client, path: str, chosen: st.DataObject, delete: Any) -> None:
        # Stored again each time (a replay once stored), so a batch delete before leaves rows to read.
        assert client.post("/api/conversations", json=body, headers=INGEST).status_code == 200
        keys = st.sampled_from(FILTERS + ANALYTICS[path]) | text
        params = chosen.draw(st.lists(st.tuples(keys, text | st.sampled_from(["week", "day", "csv", "Reason"])),
                                      max_size=4))
        query = _query(params)
        check(client.get(f"{path}?{query}", headers=INGEST))
        check(client.post("/api/conversations:batchDelete", content=dumps(delete),
                          headers={**INGEST, "content-type": "application/json"}))

    await run_in_thread(gateway, lambda client: read(client))


async def test_generated_synthetic_data_requests(gateway: Gateway, ollama: FakeOllama) -> None:
    ollama.record_calls = False
    payloads = st.fixed_dictionaries({}, optional={
        "prompt": text | json_values, "count": st.integers(-5, 200) | json_values,
        "schema": json_values | st.just({"type": "object", "properties": {"a": {"type": "string"},
                                                                         "b": {"enum": ["x", "y"]}}}),
    })
    configs = st.fixed_dictionaries({}, optional={
        "provider": text | st.just("llamacpp"), "model": text, "temperature": st.floats() | json_values,
        "seed": st.integers(-(2**40), 2**40) | json_values, "max_retries": st.integers(-3, 20), "stream": json_values,
        "max_tokens": st.integers(-5, 40_000) | json_values, "personas": st.lists(text, max_size=3) | json_values,
        "spread": json_values, "free_fields": st.lists(text | st.just("b"), max_size=3) | json_values,
    })

    @SETTINGS
    @given(payload=payloads, config=configs, streamed=st.booleans())
    def post(client: httpx.Client, payload: dict[str, Any], config: dict[str, Any], streamed: bool) -> None:
        path = "/api/v1/synthetic-data:stream" if streamed else "/api/v1/synthetic-data"
        response = client.post(path, content=dumps({"payload": payload, "config": config}),
                               headers={**SYNTH, "content-type": "application/json"})
        check(response)

    try:
        await run_in_thread(gateway, lambda client: post(client))
    finally:
        ollama.record_calls = True
