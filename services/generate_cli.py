"""`python -m parley demo` and `python -m parley synth`: records streamed from synth through
the gateway, into ingest or into a file, with a progress bar.

Both read the gateway's URL and credentials from the options, else from the environment
(PARLEY_URL, PARLEY_API_KEY, PARLEY_SYNTH_TOKEN), else from what `make run` keeps in .data/.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.common import ports
from services.synth.presets import LANGUAGES, PARLEY_SUMMARY_SCHEMA, parley_summaries_prompt

DEV_CREDENTIALS = Path(".data") / "dev-credentials.json"
BATCH = 100  # entities a POST to ingest


def add_commands(commands: Any) -> None:
    demo = commands.add_parser("demo", help="generate conversation summaries with synth and store them in ingest")
    demo.add_argument("--count", type=int, default=50, help="conversations (each with 1 or 2 child summaries)")
    demo.add_argument("--language", default="en", choices=sorted(LANGUAGES))
    synth = commands.add_parser("synth", help="generate records for a JSON Schema into a JSONL or CSV file")
    synth.add_argument("--schema", type=Path, required=True, help="a JSON Schema file (an object's, or an array's)")
    synth.add_argument("--prompt", required=True)
    synth.add_argument("--count", type=int, default=10)
    synth.add_argument("--out", type=Path, required=True, help="records.jsonl, or records.csv (top-level fields)")
    for command in (demo, synth):
        command.add_argument("--url", default=os.environ.get("PARLEY_URL", f"http://127.0.0.1:{ports.GATEWAY}"))
        command.add_argument("--provider", default="")
        command.add_argument("--model", default="")
        command.add_argument("--seed", type=int)


def run(args: argparse.Namespace) -> int:
    token, key = credentials()
    with httpx.Client(base_url=args.url, timeout=httpx.Timeout(30, read=600)) as client:
        if args.area == "demo":
            return _demo(client, args, token, key)
        return _synth(client, args, token)


def _demo(client: httpx.Client, args: argparse.Namespace, token: str, key: str) -> int:
    if not key:
        raise SystemExit("error: no ingest key (PARLEY_API_KEY, or `make run`'s .data/dev-credentials.json)")
    rng = random.Random(args.seed)
    payload = {"prompt": parley_summaries_prompt(args.language), "count": args.count, "schema": PARLEY_SUMMARY_SCHEMA}
    pending: list[dict[str, Any]] = []
    stored = conversations = 0
    bar = Progress("conversations", args.count)
    for record in _records(client, token, payload, args):
        pending += entities(record, args.language, rng)
        conversations += 1
        if len(pending) >= BATCH:
            stored += _post(client, key, pending)
            pending = []
        bar.show(conversations, f"{stored} summaries stored")
    if pending:
        stored += _post(client, key, pending)
    bar.done(f"{conversations} conversations, {stored} summaries stored")
    return 0


def _synth(client: httpx.Client, args: argparse.Namespace, token: str) -> int:
    schema = json.loads(args.schema.read_text())
    payload = {"prompt": args.prompt, "count": args.count, "schema": schema}
    bar = Progress("records", args.count)
    written = 0
    with args.out.open("w", newline="") as out:
        writer: Any = None
        for record in _records(client, token, payload, args):
            if args.out.suffix == ".csv":
                row = record if isinstance(record, dict) else {"value": record}
                if writer is None:  # the schema's properties, in its order
                    writer = csv.DictWriter(out, fieldnames=_columns(schema) or list(row), extrasaction="ignore")
                    writer.writeheader()
                writer.writerow({k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                                 for k, v in row.items()})
            else:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
            bar.show(written)
    bar.done(f"{written} records written to {args.out}")
    return 0 if written == args.count else 1


def _columns(schema: dict[str, Any]) -> list[str]:
    record = schema.get("items", {}) if schema.get("type") == "array" else schema
    properties = record.get("properties") if isinstance(record, dict) else None
    return list(properties) if isinstance(properties, dict) else []


def _records(client: httpx.Client, token: str, payload: dict[str, Any], args: argparse.Namespace) -> Iterator[Any]:
    """Each record of POST /api/v1/synthetic-data:stream as it arrives."""
    config = {k: v for k, v in (("provider", args.provider), ("model", args.model), ("seed", args.seed)) if v}
    headers = {"authorization": f"Bearer {token}"}
    with client.stream("POST", "/api/v1/synthetic-data:stream", headers=headers,
                       json={"payload": payload, "config": config}) as response:
        if response.status_code != 200:
            response.read()
            raise SystemExit(f"error: synth answered {response.status_code}: {message(response)}")
        for line in response.iter_lines():
            if not line.strip():
                continue
            event = json.loads(line)
            if "record" in event:
                yield event["record"]["data"]
            elif "error" in event:
                raise SystemExit(f"error: synth stopped: {event['error']['message']}")


def _post(client: httpx.Client, key: str, batch: list[dict[str, Any]]) -> int:
    response = client.post("/api/conversations", headers={"x-api-key": key}, json={"entities": batch})
    if response.status_code != 200:
        raise SystemExit(f"error: ingest answered {response.status_code}: {message(response)}")
    return len(batch)


def entities(record: dict[str, Any], language: str, rng: random.Random) -> list[dict[str, Any]]:
    """A generated conversation as ingest's entities: the Conversation, its Agent child and,
    when the bot took part, its VirtualAgent child, dated within the last 30 days."""
    parent = f"demo-{uuid.UUID(int=rng.getrandbits(128))}"
    started = datetime.now(UTC) - timedelta(minutes=rng.randrange(30 * 24 * 60))
    insights = [{"type": "Reason", "title": record["reasonTitle"], "description": record["reasonDescription"]},
                {"type": "Resolution", "title": record["resolutionTitle"],
                 "description": record["resolutionDescription"], "outcome": record["outcome"]}]
    if record.get("actionItem"):
        insights.append({"type": "ActionItem", "title": "Follow-up", "description": record["actionItem"]})
    common = {"mediaType": record["mediaType"], "language": language, "sourceId": "parley-demo", "generated": True}
    made = [{**common, "summaryType": "Conversation", "summaryId": parent, "summary": record["summary"],
             "dateCreated": _time(started), "insights": insights}]
    children = [("VirtualAgent", record.get("virtualAgentSummary"), None),
                ("Agent", record["agentSummary"], f"agent-{rng.randrange(1, 41):02}")]
    for n, (kind, summary, agent) in enumerate(children):
        if summary:
            made.append({**common, "summaryType": kind, "summaryId": f"{parent}-{kind.lower()}",
                         "conversationId": parent, "summary": summary,
                         "dateCreated": _time(started + timedelta(minutes=2 + 5 * n)),
                         **({"agentId": agent} if agent else {})})
    return made


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def credentials() -> tuple[str, str]:
    """(synth token, ingest key) from the environment, else from `make run`'s .data/."""
    stored: dict[str, str] = {}
    if DEV_CREDENTIALS.exists():
        stored = json.loads(DEV_CREDENTIALS.read_text())
    return (os.environ.get("PARLEY_SYNTH_TOKEN") or stored.get("synth_token", ""),
            os.environ.get("PARLEY_API_KEY") or stored.get("ingest_api_key", ""))


def message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))[:300]
    except ValueError:
        return response.text[:300]


class Progress:
    """A one-line bar on stderr: [#####.....] 45/200 conversations, and a note."""

    def __init__(self, noun: str, total: int, width: int = 30) -> None:
        self._noun, self._total, self._width = noun, total, width

    def show(self, done: int, note: str = "") -> None:
        filled = self._width * done // max(1, self._total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (self._width - filled)}] {done}/{self._total} {self._noun}"
                         f"{'  ' + note if note else ''}")
        sys.stderr.flush()

    def done(self, summary: str) -> None:
        sys.stderr.write(f"\n{summary}\n")
