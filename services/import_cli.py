"""`python -m parley import file.ndjson`: a file of entities, one JSON object a line, streamed
to POST /api/conversations:import through the gateway, with a progress bar by bytes sent.

The gateway's URL and key come from --url and PARLEY_URL / PARLEY_API_KEY, else from what
`make run` keeps in .data/ (as for `demo`).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from services.common import ports
from services.generate_cli import Progress, credentials, message

CHUNK_BYTES = 256 * 1024


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
    started = time.monotonic()
    headers = {"x-api-key": key, "content-type": "application/x-ndjson"}
    with httpx.Client(base_url=args.url, timeout=httpx.Timeout(30, read=None)) as client:
        response = client.post("/api/conversations:import", content=_read(args.file, progress), headers=headers)
    if response.status_code != 200:
        progress.done(f"error: {message(response)}")
        return 1
    body = response.json()
    seconds = time.monotonic() - started
    progress.done(f"imported {body['lines']} lines: {body['inserted']} new, {body['replayed']} already stored, "
                  f"in {body['chunks']} transactions ({seconds:.1f} s, {body['lines'] / seconds:,.0f} lines/s)")
    return 0


def _read(path: Path, progress: Progress) -> Iterator[bytes]:
    sent = 0
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            sent += len(chunk)
            progress.show(round(sent / 1e6))
            yield chunk
