"""`make bench`: ingest throughput and latency, and synth's use of the model, through the gateway.

Starts its own stack (PostgreSQL in a temporary folder, ingest, synth, a fake
Ollama in its own process, Envoy) so a run never touches .data/, then prints
Markdown tables.
"""

from __future__ import annotations

import os
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

from bench.load import Result, asyncpg_worker, drive, grpc_worker, rest_worker
from bench.synth import SLOTS, synth_rows
from gateway.envoy import Gateway
from services.common.localpg import LocalPostgres
from services.devstack.__main__ import start_service
from services.ingest.settings import default_pool_size
from services.ingest.storage import NoResetConnection
from tests.conftest import free_port

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
API_KEY = "bench-key"


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


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    os.chmod(workdir, 0o755)
    pg = LocalPostgres(workdir / "pg", free_port())
    pg.start()
    fake_port = free_port()
    ingest_listen, synth_listen = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = {**os.environ, "DATABASE_URL": pg.dsn, "INGEST_API_KEYS": API_KEY, "INGEST_LISTEN": ingest_listen,
           "SYNTH_API_TOKENS": API_KEY, "SYNTH_LISTEN": synth_listen, "OLLAMA_HOST": f"http://127.0.0.1:{fake_port}",
           "SYNTH_OLLAMA_CONCURRENCY": str(SLOTS)}
    log = open(workdir / "services.log", "w")  # noqa: SIM115 (closed with the processes)
    children = [subprocess.Popen([sys.executable, "-m", "tests.fakes.ollama", "--port", str(fake_port),
                                  "--slots", str(SLOTS)], stdout=log, stderr=subprocess.STDOUT)]
    gateway = Gateway(workdir / "gw", ingest_port=int(ingest_listen.rsplit(":", 1)[1]),
                      synth_port=int(synth_listen.rsplit(":", 1)[1]))
    try:
        children.append(start_service("services.ingest", ingest_listen, env, log))
        children.append(start_service("services.synth", synth_listen, env, log))
        gateway.start()
        started = time.strftime("%Y-%m-%d %H:%M")
        lines = uvloop.run(scenarios(gateway.port, pg.dsn))
        print(f"\nIngest, {CONCURRENCY} concurrent clients, {SECONDS:.0f} s per row, {os.cpu_count()} cores, "
              f"{started}\n")
        print("\n".join(lines))
        lines = uvloop.run(synth_rows(gateway.port, f"http://127.0.0.1:{fake_port}", API_KEY))
        print("\nSynth, the spec's request through the gateway, fake Ollama in its own process\n")
        print("\n".join(lines))
    finally:
        gateway.stop()
        for child in reversed(children):
            child.terminate()
            child.wait(30)
        log.close()
        pg.stop()
        subprocess.run(["rm", "-rf", str(workdir)], check=False)


if __name__ == "__main__":
    main()
