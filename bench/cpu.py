"""Where a write costs CPU: wrk (its own process, never Python's) posts single entities and
100-entity batches, to Parley through the gateway and to the Node reference, and each
process's CPU time is read from /proc before and after: what each request cost the gateway,
the service, PostgreSQL's backends and wrk itself.

The Node reference (bench/node/server.js) is the seed's kind of stack: a Node route with
`pg`, one transaction per request, one worker per core, storing with Parley's own
statement into the same database, so the rows compare like with like.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.ingest.storage import INSERT_SQL
from services.stack.stack import free_port

_TICK = os.sysconf("SC_CLK_TCK")
_POST = Path(__file__).with_name("post.lua")
_NODE = Path(__file__).with_name("node") / "server.js"
_NODE_MODULES = Path(__file__).resolve().parent.parent / ".tools" / "node_modules"


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    processes: dict[str, int]  # column -> the pid whose process tree it sums


@dataclass(frozen=True)
class Run:
    requests: float  # per second
    p50: float  # ms
    p99: float  # ms
    bad: str  # non-2xx replies and socket errors, by kind ("0", "2 timeout")
    cpu: dict[str, float]  # column -> CPU seconds over the run
    total: int  # requests
    tag: str  # in each summaryId the run stored (bench/post.lua)


def processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of it and of its children it has reaped)."""
    found: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / _TICK)
    return found


def tree_cpu(root: int, table: dict[int, tuple[int, float]]) -> float:
    """CPU seconds of a process and all its descendants, living or reaped."""
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        total += table.get(pid, (0, 0.0))[1]
        pending += [child for child, (parent, _) in table.items() if parent == pid]
    return total


def _wrk(target: Target, key: str, batch: int, seconds: int, connections: int) -> Run:
    before = processes()
    tag = f"{target.name[:4]}{time.time_ns()}"
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(_POST), target.url,
            "--", key, tag, str(batch)]
    wrk = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert wrk.stdout is not None
    out = wrk.stdout.read()
    _, status, usage = os.wait4(wrk.pid, 0)
    wrk.returncode = os.waitstatus_to_exitcode(status)
    after = processes()
    assert wrk.returncode == 0, out
    cpu = {name: tree_cpu(pid, after) - tree_cpu(pid, before) for name, pid in target.processes.items()}
    cpu["wrk"] = usage.ru_utime + usage.ru_stime

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]

    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        return float(match[1]) if match else 0.0

    # wrk gives up on a request after 2 s ("timeout"); "non-2xx" are answers.
    kinds = {"non-2xx": int(number(r"Non-2xx or 3xx responses: (\d+)")),
             **{kind: int(n) for kind, n in re.findall(r"(connect|read|write|timeout) (\d+)", out)}}
    bad = ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n) or "0"
    total, rate = int(number(r"(\d+) requests in")), number(r"Requests/sec:\s+([\d.]+)")
    return Run(rate, millis("50%"), millis("99%"), bad, cpu, total, tag)


def start_node(dsn: str, key: str, connections: int) -> tuple[subprocess.Popen[bytes], str]:
    """The Node reference on a free port, with `connections` to PostgreSQL in all, and its URL."""
    port = free_port()
    sql = Path(tempfile.mkdtemp()) / "insert.sql"
    sql.write_text(INSERT_SQL)
    per_worker = max(1, connections // (os.cpu_count() or 1))
    node = subprocess.Popen(["node", str(_NODE), str(port), dsn, str(sql), key, str(per_worker)],
                            env={**os.environ, "NODE_PATH": str(_NODE_MODULES)})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return node, f"http://127.0.0.1:{port}/api/conversations"
        time.sleep(0.1)
    node.kill()
    raise RuntimeError("the Node reference did not start")


async def cpu_rows(targets: list[Target], dsn: str, key: str, seconds: int, connections: int) -> list[str]:
    """The table: for each target, single entities then 100-entity batches."""
    lines = [f"wrk, {connections} connections, {seconds} s a row; CPU ms per request (per entity for batches)"
             f"; load average before: {_load()}", "",
             "| path | entities/request | requests/s | entities/s | p50 ms | p99 ms | errors "
             "| gateway | service | PostgreSQL | all three | wrk |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    shared: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        for batch in (1, 100):
            for target in targets:
                # Every row starts from a settled database: the last row's autovacuum and
                # checkpoint stay out of it.
                await conn.execute("CHECKPOINT")
                await conn.execute("VACUUM ANALYZE summaries, insights")
                run = await asyncio.to_thread(_wrk, target, key, batch, seconds, connections)
                lines.append(_row(target.name, batch, run))
                print(lines[-1], flush=True)  # progress
                if batch == 1:
                    # Rows one transaction wrote share its id (xmin): Parley's group commit shows here.
                    stored, transactions = await conn.fetchrow(
                        "SELECT count(*), count(DISTINCT xmin::text) FROM summaries WHERE summary_id LIKE $1",
                        f"wrk-{run.tag}-%")
                    shared.append(f"{target.name} {stored / max(transactions, 1):.2f}")
    finally:
        await conn.close()
    lines.append(f"\nSingle-entity requests per transaction: {', '.join(shared)}.")
    lines.append(f"Load average after: {_load()}")
    return lines


def _row(name: str, batch: int, run: Run) -> str:
    per = 1000 / (run.total * batch)  # CPU seconds -> ms per request, or per entity
    cells = [f"{run.cpu[c] * per:.3f}" if c in run.cpu else "-" for c in ("gateway", "service", "PostgreSQL")]
    three = sum(run.cpu.get(c, 0.0) for c in ("gateway", "service", "PostgreSQL")) * per
    return (f"| {name} | {batch} | {run.requests:,.0f} | {run.requests * batch:,.0f} | {run.p50:.1f} | {run.p99:.1f} "
            f"| {run.bad} | {' | '.join(cells)} | {three:.3f} | {run.cpu['wrk'] * per:.3f} |")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
