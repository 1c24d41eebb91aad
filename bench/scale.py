"""Queries at scale: a million summaries, every list filter, search, stats, top insights and
export through the gateway, timed by wrk (its own process, not Python's), and what the
read indexes cost single-entity writes."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import asyncpg

from bench import dataset
from bench.cpu import processes, tree_cpu
from services.ingest.storage.reads import CONFIGS

ROWS = int(os.environ.get("BENCH_SCALE_ROWS", "1000000"))
SECONDS = int(os.environ.get("BENCH_SCALE_SECONDS", "3"))
POST_SECONDS = int(os.environ.get("BENCH_SCALE_POST_SECONDS", "10"))
POST_ROUNDS = int(os.environ.get("BENCH_SCALE_POST_ROUNDS", "2"))
_WEEK = "dateCreatedFrom=2025-06-02T00:00:00Z&dateCreatedTo=2025-06-09T00:00:00Z"
_MONTH = "dateCreatedFrom=2025-06-01T00:00:00Z&dateCreatedTo=2025-07-01T00:00:00Z"
_PART_DAYS = "dateCreatedFrom=2025-02-03T09:30:00Z&dateCreatedTo=2025-11-20T17:45:00Z"
QUERIES = [
    ("list, no filter", "/api/conversations"),
    ("list, next page", "/api/conversations?pageToken={token}"),
    ("list, language=de", "/api/conversations?language=de"),
    ("list, language matching nothing", "/api/conversations?language=xx"),
    ("list, mediaType=Unknown", "/api/conversations?mediaType=Unknown"),
    ("list, summaryType=Agent", "/api/conversations?summaryType=Agent"),
    ("list, agentId (~500 rows)", "/api/conversations?agentId=agent-8"),
    ("list, agentId matching nothing", "/api/conversations?agentId=agent-7"),
    ("list, sourceId", "/api/conversations?sourceId=source-3"),
    ("list, conversationId", "/api/conversations?conversationId=scale-3"),
    ("list, one week", f"/api/conversations?{_WEEK}"),
    ("list, generated=false", "/api/conversations?generated=false"),
    ("list, insightType=ActionItem", "/api/conversations?insightType=ActionItem"),
    ("list, outcome=refunded", "/api/conversations?outcome=refunded"),
    ("list, outcome matching nothing", "/api/conversations?outcome=lost"),
    ("list, rare combination", "/api/conversations?language=it&mediaType=Unknown&summaryType=Agent&generated=false"),
    ("search, refund", "/api/conversations?q=refund"),
    ("search, reembolso + language=es", "/api/conversations?q=reembolso&language=es"),
    ("search, phrase", "/api/conversations?q=%22damaged%20parcel%22"),
    ("search, phrase by relevance", "/api/conversations?q=%22damaged%20parcel%22&orderBy=relevance"),
    ("search, refund by relevance", "/api/conversations?q=refund&orderBy=relevance"),
    ("search, word matching nothing", "/api/conversations?q=zeppelin"),
    ("search, word matching nothing, by relevance", "/api/conversations?q=zeppelin&orderBy=relevance"),
    ("search, phrase matching nothing in language=de", "/api/conversations?q=%22damaged%20parcel%22&language=de"),
    ("search, refund in one week", f"/api/conversations?q=refund&{_WEEK}"),
    ("stats, total", "/api/conversations:stats"),
    ("stats, by mediaType", "/api/conversations:stats?groupBy=mediaType"),
    ("stats, by language, one month", f"/api/conversations:stats?groupBy=language&{_MONTH}"),
    ("stats, by day, one month", f"/api/conversations:stats?groupBy=day&{_MONTH}"),
    ("stats, by week", "/api/conversations:stats?groupBy=week"),
    ("stats, by agentId", "/api/conversations:stats?groupBy=agentId"),
    ("stats, by insightType, one month", f"/api/conversations:stats?groupBy=insightType&{_MONTH}"),
    ("stats, by outcome", "/api/conversations:stats?groupBy=outcome"),
    ("stats, by day, from 09:30 to 17:45", f"/api/conversations:stats?groupBy=day&{_PART_DAYS}"),
    ("stats, by language, outcome and insightType",
     "/api/conversations:stats?groupBy=language&outcome=refunded&insightType=ActionItem"),
    ("top reasons", "/api/insights:top?type=Reason"),
    ("top reasons, one month", f"/api/insights:top?type=Reason&{_MONTH}"),
    ("top reasons, language=es", "/api/insights:top?type=Reason&language=es"),
    ("top reasons, from 09:30 to 17:45", f"/api/insights:top?type=Reason&{_PART_DAYS}"),
    ("top reasons, agentId (summaries, not counts)", "/api/insights:top?type=Reason&agentId=agent-8"),
]
# The indexes the read side added (migrations 004, 005, 007, 010) and the counts kept on write
# (009): dropped and disabled for the second write run, to show what they cost a write.
READ_INDEXES = (*(f"summaries_search_{c}_idx" for c in CONFIGS), "insights_type_idx", "insights_outcome_idx",
                "insights_title_key_idx", "summaries_language_date_idx", "summaries_media_type_date_idx",
                "summaries_summary_type_date_idx")
COUNTING_TRIGGERS = ("summaries_queued", "summaries_uncounted")


def wrk(url: str, seconds: int, connections: int, options: tuple[str, ...] = (),
        script_args: tuple[str, ...] = ()) -> dict[str, float]:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *options, url]
    if script_args:
        args += ["--", *script_args]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate, out
    errors = re.search(r"Socket errors: .*", out)
    requests = re.search(r"(\d+) requests in", out)
    assert requests, out
    return {"p50": millis("50%"), "p99": millis("99%"), "rps": float(rate[1]), "requests": float(requests[1]),
            "bad": float(bad[1]) if bad else 0.0, "socket_errors": 1.0 if errors else 0.0}


def export_rate(base: str, key: str, form: str) -> tuple[float, int]:
    """Seconds and bytes for one whole export, read by curl."""
    started = time.perf_counter()
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                          "-H", f"x-api-key: {key}", f"{base}/api/conversations:export?format={form}"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "200", out
    return time.perf_counter() - started, int(out[1])


async def scale_rows(port: int, dsn: str, key: str, pids: dict[str, int]) -> list[str]:
    if not shutil.which("wrk"):
        return ["wrk is not installed (Debian package wrk): the scale benchmark did not run"]
    base = f"http://127.0.0.1:{port}"
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await dataset.load(conn, ROWS)
        loaded = time.perf_counter() - started
        summaries = await conn.fetchval("SELECT count(*) FROM summaries")
        insights = await conn.fetchval("SELECT count(*) FROM insights")
        token = await _page_token(base, key)
        lines = [f"{summaries:,} summaries and {insights:,} insights, loaded in {loaded:.0f} s; wrk, 2 connections, "
                 f"{SECONDS} s a query; load average before: {_load()}", "",
                 "| query | p50 ms | p99 ms | requests/s | non-2xx |", "|---|---:|---:|---:|---:|"]
        for name, path in QUERIES:
            r = await asyncio.to_thread(wrk, base + path.format(token=token), SECONDS, 2, ("-H", f"x-api-key: {key}"))
            if r["rps"] < 1:  # no request finished within wrk's run or its 2 s timeout
                lines.append(f"| {name} | over 2,000 | over 2,000 | 0 | - |")
            else:
                lines.append(f"| {name} | {r['p50']:.1f} | {r['p99']:.1f} | {r['rps']:,.0f} | {r['bad']:.0f} |")
            print(lines[-1], flush=True)  # progress: the section takes minutes
        lines += ["", "| relation | MB |", "|---|---:|"]
        for name, size in await conn.fetch(
                "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
                " AND c.relkind IN ('r', 'i') AND pg_relation_size(c.oid) > 1000000"
                " ORDER BY 2 DESC"):
            lines.append(f"| {name} | {size / 1e6:,.0f} |")
        lines += ["", "| export | rows | seconds | rows/s | MB/s |", "|---|---:|---:|---:|---:|"]
        for form in ("ndjson", "csv"):
            seconds, size = await asyncio.to_thread(export_rate, base, key, form)
            lines.append(f"| {form} | {summaries:,} | {seconds:.1f} | {summaries / seconds:,.0f} "
                         f"| {size / seconds / 1e6:.1f} |")
        lines += ["", *await _post_rows(conn, base, key, pids, summaries)]
        return lines
    finally:
        await conn.close()


async def _post_rows(conn: asyncpg.Connection, base: str, key: str, pids: dict[str, int], rows: int) -> list[str]:
    """Single-entity POSTs with the read side's indexes and counting triggers and without them,
    alternated POST_ROUNDS times (the indexes built again between rounds): this machine's speed
    drifts by a third within minutes, and one run a side put whichever ran in the slower minute
    behind. Rows written without the triggers are never counted: this comes last, in a database
    the benchmark throws away."""
    definitions = [row[0] for row in await conn.fetch(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indexrelid::regclass::text = ANY($1::text[])",
        list(READ_INDEXES))]
    assert len(definitions) == len(READ_INDEXES), definitions
    post = Path(__file__).with_name("post.lua")
    lines = [f"Single-entity POST at {rows:,} rows, wrk 32 connections, {POST_SECONDS} s a run, {POST_ROUNDS} rounds;"
             f" CPU in ms a request; load average before: {_load()}", "",
             "| round | read indexes and counts | requests/s | p50 ms | p99 ms | "
             + " | ".join(f"{name} CPU" for name in pids) + " |", "|---:|---|---:|---:|---:|" + "---:|" * len(pids)]
    totals: dict[str, dict[str, float]] = {"all": {}, "without": {}}
    for round_ in range(1, POST_ROUNDS + 1):
        for label in ("all", "without"):
            if label == "without":
                await conn.execute(f"DROP INDEX {', '.join(READ_INDEXES)}")
                await conn.execute(_triggers("DISABLE"))
            elif round_ > 1:
                await conn.execute("SET maintenance_work_mem = '256MB'")
                for definition in definitions:
                    await conn.execute(definition)
                await conn.execute(_triggers("ENABLE"))
            await conn.execute("CHECKPOINT")
            before = processes()
            r = await asyncio.to_thread(wrk, f"{base}/api/conversations", POST_SECONDS, 32, ("-s", str(post)),
                                        (key, str(time.time_ns())))
            after = processes()
            assert r["bad"] == 0, r
            cpu = {name: (tree_cpu(pid, after) - tree_cpu(pid, before)) * 1000 / r["requests"]
                   for name, pid in pids.items()}
            for name, value in (("rps", r["rps"]), *cpu.items()):
                totals[label][name] = totals[label].get(name, 0.0) + value
            lines.append(f"| {round_} | {label} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                         + " | ".join(f"{v:.3f}" for v in cpu.values()) + " |")
    ratio = {name: totals["all"][name] / totals["without"][name] for name in totals["all"]}
    lines += ["", f"With the read side against without, over the {POST_ROUNDS} rounds: requests/s {ratio['rps']:.2f};"
              " CPU a request " + ", ".join(f"{name} {ratio[name]:.2f}" for name in pids) + "."]
    return lines


def _triggers(verb: str) -> str:
    return "ALTER TABLE summaries " + ", ".join(f"{verb} TRIGGER {name}" for name in COUNTING_TRIGGERS)


async def _page_token(base: str, key: str) -> str:
    out = await asyncio.to_thread(subprocess.run, ["curl", "-sS", "-H", f"x-api-key: {key}",
                                                   f"{base}/api/conversations"], capture_output=True, text=True)
    match = re.search(r'"nextPageToken":"([^"]+)"', out.stdout)
    assert match, out.stdout[:200]
    return match[1]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
