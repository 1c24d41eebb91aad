"""`python -m parley import file.ndjson`: a file of entities, one JSON object a line, sent to
POST /api/conversations:import through the gateway in parts of 16 MiB (each its own
request; PARLEY_IMPORT_PART_BYTES), with a progress bar by bytes sent. Errors name the
file's line.

The gateway's URL and key come from --url and PARLEY_URL / PARLEY_API_KEY, else from what
`make run` keeps in .data/ (as for `demo`).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from services.common import ports
from services.generate_cli import Progress, credentials, message

# The file goes in parts, each a request that ends well within the gateway's request
# timeout (GATEWAY_REQUEST_TIMEOUT_SECONDS, 60 s by default) even on a slow machine.
PART_BYTES = int(os.environ.get("PARLEY_IMPORT_PART_BYTES", 16 * 1024 * 1024))
_LINE = re.compile(r"(?<=[Ll]ine )(\d+)|(?<=[Ll]ines up to )(\d+)")


def add_command(commands: Any) -> None:
    command = commands.add_parser("import", help="import an NDJSON file of entities into ingest, in transactions")
    command.add_argument("file", type=Path, help="one entity a line, shaped as POST /api/conversations' entities")
    command.add_argument("--url", default=os.environ.get("PARLEY_URL", f"http://127.0.0.1:{ports.GATEWAY}"))


def run(args: argparse.Namespace) -> int:
    _, key = credentials()
    if not key:
        raise SystemExit("error: no ingest key (PARLEY_API_KEY, or `make run`'s .data/dev-credentials.json)")
    size = args.file.stat().st_size
    progress = Progress("MB", max(1, round(size / 1e6)))
    started, sent = time.monotonic(), 0
    totals = {"lines": 0, "inserted": 0, "replayed": 0, "chunks": 0}
    headers = {"x-api-key": key, "content-type": "application/x-ndjson"}
    with httpx.Client(base_url=args.url, timeout=httpx.Timeout(30, read=300)) as client:
        for before, part in _parts(args.file):
            response = client.post("/api/conversations:import", content=part, headers=headers)
            if response.status_code != 200:
                stored = f" (lines before {before + 1} were stored: {totals['lines']} summaries)" if before else ""
                progress.done(f"error: {_in_file(message(response), before)}{stored}")
                return 1
            for name, value in response.json().items():
                totals[name] += value
            sent += len(part)
            progress.show(round(sent / 1e6))
    seconds = time.monotonic() - started
    progress.done(f"imported {totals['lines']} lines: {totals['inserted']} new, {totals['replayed']} already "
                  f"stored, in {totals['chunks']} transactions ({seconds:.1f} s, {totals['lines'] / seconds:,.0f}"
                  " lines/s)")
    return 0


def _parts(path: Path) -> Iterator[tuple[int, bytes]]:
    """(lines before it, part) for parts of about PART_BYTES, split between lines."""
    before, count, lines, size = 0, 0, [], 0
    with path.open("rb") as file:
        for line in file:
            lines.append(line)
            count, size = count + 1, size + len(line)
            if size >= PART_BYTES:
                yield before, b"".join(lines)
                before, lines, size = count, [], 0
    if lines:
        yield before, b"".join(lines)


def _in_file(text: str, before: int) -> str:
    """A part's line numbers as the file's."""
    return _LINE.sub(lambda m: str(int(m[0]) + before), text)
