"""Synth benchmarks: does the engine keep a slot-limited model busy, and what does it cost per record."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from testkit.spec import SYNTHETIC, curl_example

SLOTS = 4
TOKENS_PER_SECOND = 600.0  # per slot, like a small model on a modest GPU


def spec_body(count: int) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(curl_example(SYNTHETIC).split("-d '", 1)[1].rsplit("'", 1)[0])
    body["payload"]["count"] = count
    return body


async def _run(http: httpx.AsyncClient, token: str, requests: int, count: int) -> tuple[float, list[dict[str, Any]]]:
    headers = {"authorization": f"Bearer {token}"}
    start = time.perf_counter()
    replies = await asyncio.gather(*(
        http.post("/api/v1/synthetic-data", json=spec_body(count), headers=headers) for _ in range(requests)))
    elapsed = time.perf_counter() - start
    for reply in replies:
        reply.raise_for_status()
    return elapsed, [reply.json() for reply in replies]


async def synth_rows(gateway_port: int, fake_url: str, token: str) -> list[str]:
    lines = ["| scenario | records | seconds | records/s | ideal records/s | ratio | target |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_port}", timeout=600) as http:
        await http.post(f"{fake_url}/fake/config", json={"tokens_per_second": TOKENS_PER_SECOND})
        elapsed, bodies = await _run(http, token, requests=4, count=16)
        records = sum(b["metadata"]["count"] for b in bodies)
        tokens_per_record = sum(b["usage"]["output_tokens"] for b in bodies) / records
        ideal = SLOTS * TOKENS_PER_SECOND / tokens_per_record
        achieved = records / elapsed
        lines.append(f"| {SLOTS} slots at {TOKENS_PER_SECOND:.0f} tokens/s, {tokens_per_record:.0f} tokens/record "
                     f"| {records} | {elapsed:.1f} | {achieved:.2f} | {ideal:.2f} | {achieved / ideal:.2f} | >= 0.9 |")

        await http.post(f"{fake_url}/fake/config", json={"tokens_per_second": None})
        elapsed, bodies = await _run(http, token, requests=8, count=100)
        records = sum(b["metadata"]["count"] for b in bodies)
        lines.append(f"| instant model: the engine's own overhead | {records} | {elapsed:.1f} "
                     f"| {records / elapsed:,.0f} | - | - | >= 500 records/s |")
    return lines
