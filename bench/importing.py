"""Bulk import: an NDJSON file of new summaries (half Conversations, half their Agent children,
one or two insights each) sent by curl (its own process) to POST /api/conversations:import,
timed, with the CPU each process spent per entity."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.cpu import processes, tree_cpu

LINES = int(os.environ.get("BENCH_IMPORT_LINES", "50000"))


def write_file(path: Path, lines: int, tag: str) -> int:
    """`lines` entities, each Conversation followed by its Agent child; the file's size."""
    with path.open("w") as out:
        for n in range(0, lines, 2):
            parent = {"summaryType": "Conversation", "mediaType": "Call", "language": "en",
                      "summaryId": f"imp-{tag}-{n}", "sourceId": "bench-import", "conversationId": f"g-{tag}-{n}",
                      "summary": f"Customer {n} asked for a refund of a damaged parcel", "generated": True,
                      "dateCreated": f"2025-{1 + n % 12:02}-{1 + n % 28:02}T10:{n % 60:02}:00.000Z",
                      "insights": [{"type": "Reason", "title": "Refund request", "description": "Parcel damaged"},
                                   {"type": "Resolution", "title": "Refunded", "description": "Refund issued",
                                    "outcome": "refunded"}]}
            agent = {**parent, "summaryType": "Agent", "summaryId": f"imp-{tag}-{n}-a", "agentId": f"agent-{n % 50}",
                     "insights": [{"type": "ActionItem", "title": "Ship again", "description": "Send a new parcel"}]}
            out.write(json.dumps(parent) + "\n" + json.dumps(agent) + "\n")
    return path.stat().st_size


def import_rows(gateway_port: int, key: str, pids: dict[str, int]) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "import.ndjson"
        size = write_file(path, LINES, str(time.time_ns()))
        before = processes()
        started = time.perf_counter()
        out = subprocess.run(["curl", "-sS", "-X", "POST", "-T", str(path), "-H", f"x-api-key: {key}",
                              "-H", "content-type: application/x-ndjson",
                              f"http://127.0.0.1:{gateway_port}/api/conversations:import"],
                             capture_output=True, text=True, check=True).stdout
        seconds = time.perf_counter() - started
        after = processes()
    reply = json.loads(out)
    assert reply.get("inserted") == LINES, out[:300]
    per = 1e6 / LINES
    cpu = {name: (tree_cpu(pid, after) - tree_cpu(pid, before)) * per for name, pid in pids.items()}
    return [f"{LINES:,} lines ({size / 1e6:.0f} MB) by curl, {reply['chunks']} transactions; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", "",
            "| lines | seconds | entities/s | MB/s | " + " | ".join(f"{n} us/entity" for n in cpu) + " |",
            "|---:|---:|---:|---:|" + "---:|" * len(cpu),
            f"| {LINES:,} | {seconds:.1f} | {LINES / seconds:,.0f} | {size / seconds / 1e6:.1f} | "
            + " | ".join(f"{v:.1f}" for v in cpu.values()) + " |"]
