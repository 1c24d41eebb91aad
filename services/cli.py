"""Parley's command line: `python -m parley keys create|list|revoke|rotate`, `demo`, `synth`, `import`.

`keys` talks to PostgreSQL directly (DATABASE_URL, else the `make run` database under
.data/), so it works with no service running and needs no key of its own. `demo`, `synth`
(services/generate_cli.py) and `import` (services/import_cli.py) go through the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

import asyncpg
import httpx

from services import generate_cli, import_cli
from services.common import ports
from services.common.errors import ParleyError
from services.common.keys import SCOPES
from services.ingest import keys
from services.ingest.fields import format_timestamp
from services.ingest.migrate import migrate

DEFAULT_DSN = f"postgresql://parley@127.0.0.1:{ports.LOCAL_POSTGRES}/parley"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m parley", description=__doc__.split("\n\n")[0])
    top.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DSN,
                     help="PostgreSQL to manage keys in (default: DATABASE_URL, else make run's)")
    commands = top.add_subparsers(dest="area", required=True)
    key_commands = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    create = key_commands.add_parser("create", help="create a key and print it, once")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", required=True, choices=SCOPES, dest="scopes")
    create.add_argument("--expires-in-days", type=int, default=0)
    key_commands.add_parser("list", help="list keys (never the keys themselves)")
    for action in ("revoke", "rotate"):
        key_commands.add_parser(action, help=f"{action} a key").add_argument("name")
    generate_cli.add_commands(commands)
    import_cli.add_command(commands)
    return top


async def run(args: argparse.Namespace) -> int:
    conn = await asyncpg.connect(args.database_url, timeout=10)
    try:
        await migrate(conn)
        if args.action == "create":
            info, secret = await keys.create(conn, args.name, args.scopes, args.expires_in_days)
            print(f"created key '{info.name}' with {', '.join(info.scopes)}; it is shown only this once:\n{secret}")
        elif args.action == "rotate":
            info, secret = await keys.rotate(conn, args.name)
            print(f"rotated key '{info.name}'; the old one no longer works; the new one, shown only once:\n{secret}")
        elif args.action == "revoke":
            info = await keys.revoke(conn, args.name)
            print(f"revoked key '{info.name}' at {format_timestamp(info.revoked_at or info.create_time)}")
        else:
            for info in await keys.listing(conn):
                state = "revoked" if info.revoked_at else "live"
                used = format_timestamp(info.last_used_at) if info.last_used_at else "never used"
                print(f"{info.name}\t{state}\t{','.join(info.scopes)}\t{used}")
        return 0
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.area != "keys":
        try:
            raise SystemExit(import_cli.run(args) if args.area == "import" else generate_cli.run(args))
        except httpx.HTTPError as exc:
            raise SystemExit(f"error: cannot reach the gateway at {args.url} ({type(exc).__name__}); "
                             "is `make run` up, or PARLEY_URL set?") from None
    try:
        code = asyncio.run(run(args))
    except ParleyError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        code = 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"error: cannot use the database ({type(exc).__name__}: {exc}); is `make run` up, or DATABASE_URL set?",
              file=sys.stderr)
        code = 2
    raise SystemExit(code)
