"""Memory under a flood: 200 concurrent 1 MB bodies, anonymous and then with a valid key.

Peak resident memory (VmHWM) of the gateway and ingest is read from /proc before and
after each flood, and a normal request must still answer during it.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import httpx

FLOOD = 200
BODY = json.dumps({"entities": [{
    "summaryType": "Conversation", "mediaType": "Call", "language": "en", "summaryId": "flood", "sourceId": "s",
    "summary": "y" * 1_000_000, "generated": True, "dateCreated": "2025-01-01T00:00:00Z"}]})


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def flood_rows(gateway_port: int, gateway_pid: int, ingest_pid: int, api_key: str) -> list[str]:
    lines = ["| flood of 200 x 1 MB | replies | gateway peak MiB | ingest peak MiB | a normal request meanwhile |",
             "|---|---|---:|---:|---|"]
    limits = httpx.Limits(max_connections=FLOOD + 10)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_port}", timeout=120, limits=limits) as http:
        for label, headers in (("no key", {}), ("valid key", {"x-api-key": api_key})):
            before = (peak_mib(gateway_pid), peak_mib(ingest_pid))
            headers = {**headers, "content-type": "application/json"}
            flood = [http.post("/api/conversations", content=BODY, headers=headers) for _ in range(FLOOD)]
            normal = http.get("/api/conversations", headers={"x-api-key": api_key})
            replies = await asyncio.gather(*flood, normal, return_exceptions=True)
            counts = Counter(r.status_code if isinstance(r, httpx.Response) else type(r).__name__ for r in replies[:-1])
            last = replies[-1]
            answered = last.status_code if isinstance(last, httpx.Response) else type(last).__name__
            after = (peak_mib(gateway_pid), peak_mib(ingest_pid))
            summary = ", ".join(f"{n} x {code}" for code, n in sorted(counts.items(), key=str))
            gateway, ingest = f"{before[0]:.0f} -> {after[0]:.0f}", f"{before[1]:.0f} -> {after[1]:.0f}"
            lines.append(f"| {label} | {summary} | {gateway} | {ingest} | {answered} |")
    return lines
