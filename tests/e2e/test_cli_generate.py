"""`python -m parley demo` and `python -m parley synth`, run as a user runs them (their own
process), against the stack through the gateway, with the fake Ollama generating."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from pathlib import Path

import asyncpg
import httpx

from gateway.envoy import Gateway
from testkit.fakes.ollama import FakeOllama
from tests.conftest import API_KEY, TOKEN


async def parley(gateway: Gateway, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    env = {**os.environ, "PARLEY_URL": f"http://127.0.0.1:{gateway.port}", "PARLEY_API_KEY": API_KEY,
           "PARLEY_SYNTH_TOKEN": TOKEN, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "parley", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_demo_fills_ingest_with_conversations_and_their_children(
        gateway: Gateway, http: httpx.AsyncClient, db: asyncpg.Connection, ollama: FakeOllama) -> None:
    code, out = await parley(gateway, "demo", "--count", "6", "--language", "es", "--seed", "5")
    assert code == 0, out
    assert "6/6 conversations" in out and "6 conversations," in out
    listed = (await http.get("/api/conversations", params={"summaryType": "Conversation"},
                             headers={"x-api-key": API_KEY})).json()["conversations"]
    assert len(listed) == 6 and all(c["language"] == "es" and c["sourceId"] == "parley-demo" for c in listed)
    one = (await http.get(f"/api/conversations/{listed[0]['summaryId']}",
                          headers={"x-api-key": API_KEY})).json()["conversation"]
    assert {i["type"] for i in one["insights"]} >= {"Reason", "Resolution"}
    assert "Agent" in {c["summaryType"] for c in one["children"]}
    assert "Spanish" in ollama.calls[0]["messages"][-1]["content"]


async def test_synth_writes_jsonl_and_csv(gateway: Gateway, ollama: FakeOllama, tmp_path: Path) -> None:
    schema = tmp_path / "ticket.json"
    schema.write_text(json.dumps({"type": "object", "required": ["subject", "priority"], "properties": {
        "subject": {"type": "string"}, "priority": {"enum": ["low", "high"]}, "tags": {"type": "array"}}}))
    for name in ("records.jsonl", "records.csv"):
        code, out = await parley(gateway, "synth", "--schema", str(schema), "--prompt", "Support tickets",
                                 "--count", "4", "--out", str(tmp_path / name))
        assert code == 0, out
        assert f"4 records written to {tmp_path / name}" in out
    lines = (tmp_path / "records.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["priority"] in ("low", "high") for line in lines)
    rows = list(csv.DictReader((tmp_path / "records.csv").open()))
    assert len(rows) == 4 and list(rows[0]) == ["subject", "priority", "tags"]
    assert isinstance(json.loads(rows[0]["tags"]), list)


async def test_a_refused_request_says_why(gateway: Gateway, tmp_path: Path) -> None:
    schema = tmp_path / "bad.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"x": {"type": "nonsense"}}}))
    code, out = await parley(gateway, "synth", "--schema", str(schema), "--prompt", "x", "--out",
                             str(tmp_path / "o.jsonl"))
    assert code != 0 and out.startswith("error: synth answered 400: ")
