"""`make bench`: ingest throughput and latency, and synth's use of the model, through the gateway.

Starts the same Stack as `make run` (services as their own processes, PostgreSQL in
a temporary folder), with a fake Ollama in its own process, then prints Markdown tables.

BENCH_ONLY (cpu, import or scale) runs one part. The million-row part reads BENCH_SCALE_ROWS
(1,000,000), BENCH_SCALE_SECONDS a query (3), BENCH_SCALE_POST_SECONDS a POST run (10) and
BENCH_SCALE_POST_ROUNDS (2, each a run with the read side and one without).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import grpc
import uvloop

from bench.cpu import Target, cpu_rows, start_node
from bench.flood import flood_rows
from bench.importing import import_rows
from bench.load import Result, asyncpg_worker, drive, grpc_worker, rest_worker
from bench.scale import scale_rows
from bench.synth import SLOTS, synth_rows
from services.ingest.settings import default_pool_size
from services.ingest.storage import NoResetConnection
from services.stack.settings import StackSettings
from services.stack.stack import Stack, free_port

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
API_KEY = "bench-key"
# BENCH_ONLY=scale runs the scale section alone; cpu the CPU-per-request and import ones; import
# the import alone.
ONLY = os.environ.get("BENCH_ONLY", "")


def row(name: str, batch: int, result: Result, ceiling: float | None = None) -> str:
    ordered = sorted(result.latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rps = result.requests / result.seconds
    ratio = f"{rps * batch / ceiling:.2f}" if ceiling else "1.00"
    return (f"| {name} | {batch} | {rps:,.0f} | {rps * batch:,.0f} | {p50:.1f} | {p99:.1f} "
            f"| {result.errors} | {ratio} |")


async def scenarios(gateway_port: int, dsn: str) -> list[str]:
    lines = ["| path | entities/request | requests/s | entities/s | p50 ms | p99 ms | errors | vs asyncpg |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    # The ceiling gets the same number of connections as the service.
    size = int(os.environ.get("INGEST_POOL_MAX_SIZE", default_pool_size()))
    pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size, connection_class=NoResetConnection)

    async def settled(worker: Callable[[], Awaitable[bool]]) -> Result:
        # Every row starts from a settled database, so one row's autovacuum and
        # checkpoint do not land in the next row's latencies.
        async with pool.acquire() as conn:
            await conn.execute("CHECKPOINT")
            await conn.execute("VACUUM ANALYZE summaries, insights")
        return await drive(worker, CONCURRENCY, SECONDS)

    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway_port}") as channel:
        for batch in (1, 100):
            ceiling_result = await settled(asyncpg_worker(pool, batch, f"pg{batch}"))
            ceiling = ceiling_result.requests * batch / ceiling_result.seconds
            rest = await settled(rest_worker(gateway_port, API_KEY, batch, f"rest{batch}"))
            native = await settled(grpc_worker(channel, API_KEY, batch, f"grpc{batch}"))
            lines += [row("REST via Envoy", batch, rest, ceiling), row("gRPC via Envoy", batch, native, ceiling),
                      row("plain asyncpg (ceiling)", batch, ceiling_result)]
    await pool.close()
    return lines


def pids(stack: Stack) -> dict[str, int]:
    """The processes a write goes through: gateway, service and PostgreSQL (its postmaster)."""
    assert stack.gateway is not None and stack.postgres is not None
    ingest = next(c for c in stack.children if c.definition.name == "ingest")
    assert ingest.process is not None
    return {"gateway": stack.gateway.pid, "service": ingest.process.pid,
            "PostgreSQL": int((stack.postgres.datadir / "postmaster.pid").read_text().split()[0])}


async def cpu_section(stack: Stack) -> list[str]:
    """Parley's REST route and the Node reference, under the same wrk load."""
    assert stack.gateway is not None and stack.database_url
    parley = pids(stack)
    size = int(os.environ.get("INGEST_POOL_MAX_SIZE", default_pool_size()))
    node, node_url = start_node(stack.database_url, API_KEY, size)
    try:
        targets = [
            Target("Node reference (pg, 1 worker per core)", node_url,
                   {"service": node.pid, "PostgreSQL": parley["PostgreSQL"]}),
            Target("Parley REST via Envoy", f"http://127.0.0.1:{stack.gateway.port}/api/conversations", parley),
        ]
        return await cpu_rows(targets, stack.database_url, API_KEY, int(SECONDS), CONCURRENCY)
    finally:
        node.terminate()
        node.wait(30)


def start_fake_ollama(port: int) -> subprocess.Popen[bytes]:
    """The fake in its own process, so its CPU is not the load generator's."""
    return subprocess.Popen([sys.executable, "-m", "testkit.fakes.ollama", "--port", str(port), "--slots", str(SLOTS)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


async def run(workdir: Path) -> None:
    fake_port = free_port()
    fake = start_fake_ollama(fake_port)
    fake_url = f"http://127.0.0.1:{fake_port}"
    # The load comes from one address: no per-source limit at the gateway either.
    settings = StackSettings(data_dir=workdir, pg_port=free_port(), gateway_port=0, gateway_admin_port=0,
                             gateway_source_rate_per_second=1_000_000_000, gateway_source_burst=1_000_000_000)
    # No per-key rate limit: one key drives the whole load here.
    overrides: dict[str, dict[str, object]] = {
        "ingest": {"api_keys": API_KEY, "listen": "127.0.0.1:0", "metrics_listen": "", "key_rate_per_second": 0},
        "synth": {"api_tokens": API_KEY, "listen": "127.0.0.1:0", "metrics_listen": "", "ollama_host": fake_url,
                  "ollama_concurrency": SLOTS, "key_rate_per_second": 0}}
    stack = Stack(settings, overrides=overrides)
    try:
        await stack.start()
        assert stack.gateway is not None and stack.database_url
        started = time.strftime("%Y-%m-%d %H:%M")
        if ONLY == "scale":
            print(f"\nAt scale, {os.cpu_count()} cores, {started}\n")
            print("\n".join(await scale_rows(stack.gateway.port, stack.database_url, API_KEY, pids(stack))))
            return
        if ONLY in ("", "cpu"):
            if shutil.which("wrk") and shutil.which("node"):
                print(f"\nCPU per request, {os.cpu_count()} cores, {started}\n")
                print("\n".join(await cpu_section(stack)))
            else:
                print("\nwrk or node is missing: the CPU-per-request section did not run")
        if ONLY in ("", "cpu", "import"):
            print("\nBulk import through the gateway\n")
            print("\n".join(await asyncio.to_thread(import_rows, stack.gateway.port, API_KEY, pids(stack))))
        if ONLY:
            return
        lines = await scenarios(stack.gateway.port, stack.database_url)
        print(f"\nIngest, {CONCURRENCY} concurrent clients, {SECONDS:.0f} s per row, {os.cpu_count()} cores, "
              f"{started}\n")
        print("\n".join(lines))
        lines = await synth_rows(stack.gateway.port, fake_url, API_KEY)
        print("\nSynth, the spec's request through the gateway, fake Ollama in its own process\n")
        print("\n".join(lines))
        ingest = next(c for c in stack.children if c.definition.name == "ingest")
        assert ingest.process is not None
        lines = await flood_rows(stack.gateway.port, stack.gateway.pid, ingest.process.pid, API_KEY)
        print("\nMemory under a flood (peak resident memory, before -> after)\n")
        print("\n".join(lines))
        # Last: it fills the database with a million rows.
        print("\nAt scale, through the gateway\n")
        print("\n".join(await scale_rows(stack.gateway.port, stack.database_url, API_KEY, pids(stack))))
    finally:
        await stack.stop()
        fake.terminate()
        fake.wait(30)


def main() -> None:
    """Starts its own stack in a temporary folder, so a run never touches .data/."""
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    os.chmod(workdir, 0o755)
    try:
        uvloop.run(run(workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
