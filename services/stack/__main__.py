"""`make run`: PostgreSQL under .data/, the services and Envoy, stopped together on Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import uvloop

from services.common.errors import AlreadyExists, NotFound
from services.common.keys import digest
from services.common.logs import configure_logging
from services.common.startup import load_settings
from services.ingest import keys
from services.stack.settings import StackSettings
from services.stack.stack import Stack

log = logging.getLogger("parley.stack")


def credentials(settings: StackSettings) -> dict[str, dict[str, str]]:
    """Development credentials: from the environment, else made once and kept under .data/."""
    path = settings.data_dir / "dev-credentials.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored.setdefault("ingest_api_key", "dev-" + secrets.token_urlsafe(18))
    stored.setdefault("synth_token", "dev-" + secrets.token_urlsafe(18))
    stored.setdefault("page_token_secret", secrets.token_urlsafe(32))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=2))
    path.chmod(0o600)
    return {
        "ingest": {"api_keys": os.environ.get("INGEST_API_KEYS") or stored["ingest_api_key"],
                   "page_token_secret": os.environ.get("INGEST_PAGE_TOKEN_SECRET") or stored["page_token_secret"]},
        "synth": {"api_tokens": os.environ.get("SYNTH_API_TOKENS") or stored["synth_token"]},
    }


# The console's development key: one key for both services (a key kept in PostgreSQL is
# good for synth too), with every scope but admin.
CONSOLE_KEY = "console-dev"
CONSOLE_SCOPES = ("conversations:read", "conversations:write", "conversations:delete", "synth:generate")


async def console_key(settings: StackSettings, database_url: str) -> str:
    """The console-dev key kept in .data/, made (or its secret replaced) when the database
    no longer knows it; "" when someone revoked it, which stays so."""
    path = settings.data_dir / "dev-credentials.json"
    stored = json.loads(path.read_text())
    conn = await asyncpg.connect(database_url)
    try:
        secret = stored.get("console_key", "")
        if secret and await conn.fetchval("SELECT 1 FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                                          digest(secret)):
            return str(secret)
        try:
            _, secret = await keys.create(conn, CONSOLE_KEY, CONSOLE_SCOPES)
        except AlreadyExists:
            try:
                _, secret = await keys.rotate(conn, CONSOLE_KEY)
            except NotFound:
                return ""
    finally:
        await conn.close()
    path.write_text(json.dumps({**stored, "console_key": secret}, indent=2))
    return secret


def banner(port: int, creds: dict[str, dict[str, str]], ollama_host: str, console: str) -> str:
    key = creds["ingest"]["api_keys"].split(",")[0]
    token = creds["synth"]["api_tokens"].split(",")[0]
    sign_in = f"sign in with {console}" if console else f"the key {CONSOLE_KEY} is revoked: sign in with one of yours"
    return (
        f"\nParley is up at http://127.0.0.1:{port} (REST and native gRPC)\n"
        f"  console:             http://127.0.0.1:{port}/ ({sign_in})\n"
        f"  ingest x-api-key:    {key}\n"
        f"  synth bearer token:  {token}\n"
        f"  try: curl -s http://127.0.0.1:{port}/api/conversations -H 'x-api-key: {key}'\n"
        f"  synth needs Ollama at {ollama_host} (OLLAMA_HOST)\n"
        "Ctrl-C stops everything; data stays in .data/ for the next run.\n"
    )


async def run(settings: StackSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    creds = credentials(settings)
    stack = Stack(settings, overrides=creds)
    await stack.start()
    try:
        assert stack.gateway is not None
        synth = next(c.settings for c in stack.children if c.definition.name == "synth")
        console = await console_key(settings, stack.database_url)
        print(banner(stack.gateway.port, creds, getattr(synth, "ollama_host", ""), console), flush=True)
        log.info("logs in %s", stack.logs)
        while not stop.is_set() and not (gone := stack.exited()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        if not stop.is_set():
            log.error("%s exited unexpectedly; stopping the stack (see %s)", ", ".join(gone), stack.logs)
            return 1
        return 0
    finally:
        log.info("stopping")
        await stack.stop()
        log.info("stopped")


def main() -> int:
    configure_logging("INFO", os.environ.get("LOG_FORMAT", "text"))
    try:
        settings = load_settings(StackSettings)
        with exclusive(settings.data_dir):
            return uvloop.run(run(settings))
    except RuntimeError as exc:  # StartupError included: one line, no traceback
        print(f"make run: {exc}", file=sys.stderr, flush=True)
        return 1


@contextlib.contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """One `make run` per data folder: a second one is told so instead of colliding."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"another `make run` is using {data_dir}: stop it first, or set PARLEY_DATA_DIR") from None
        yield


if __name__ == "__main__":
    raise SystemExit(main())
