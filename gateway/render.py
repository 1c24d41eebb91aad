"""Renders gateway/envoy.yaml.tmpl: the one source of the gateway config, laptop and cluster alike."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from services.common import ports
from services.common.errors import HTTP_STATUS

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "envoy.yaml.tmpl"
LUA = HERE / "errors.lua"
MAX_REQUEST_BYTES = 1024 * 1024
# The URL and all headers of a request; the services accept twice as much metadata.
MAX_HEADER_KB = 8
_LUA_INDENT = " " * 26  # the depth of inline_string in the template
GENERATED = "# GENERATED from gateway/envoy.yaml.tmpl by gateway/render.py (make k8s-config): do not edit.\n"

# Bounds on clients; the stack's settings (GATEWAY_*) override them locally.
LIMITS = {"max_connections": "1024", "headers_timeout": "10", "request_timeout": "60"}

# Everything else in the template is fixed; these differ by place.
PLACES = {
    "local": {
        "admin_address": "127.0.0.1",
        "listen_address": "127.0.0.1",
        "ingest_host": "127.0.0.1",
        "synth_host": "127.0.0.1",
    },
    "kubernetes": {
        "admin_address": "0.0.0.0",
        "listen_address": "0.0.0.0",
        "listen_port": str(ports.GATEWAY),
        "admin_port": str(ports.GATEWAY_ADMIN),
        "ingest_host": "ingest-headless",
        "ingest_port": str(ports.INGEST),
        "synth_host": "synth-headless",
        "synth_port": str(ports.SYNTH),
        "descriptor": "/etc/parley/parley.pb",
    },
}


def lua_status_table() -> str:
    """services/common/errors.py's HTTP_STATUS as a Lua table, keyed by numeric gRPC code."""
    entries = ", ".join(f"[{code.value[0]}] = {status}" for code, status in HTTP_STATUS.items() if code.value[0])
    header = "-- GENERATED from services/common/errors.py HTTP_STATUS by gateway/render.py.\n"
    return f"{header}local HTTP_STATUS = {{{entries}}}\n"


def render(values: dict[str, str]) -> str:
    source = lua_status_table() + LUA.read_text()
    lua = "\n".join(_LUA_INDENT + line if line else "" for line in source.splitlines())
    values = {"lua_source": lua, "max_request_bytes": str(MAX_REQUEST_BYTES), "max_header_kb": str(MAX_HEADER_KB),
              **LIMITS, **values}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"envoy.yaml.tmpl needs a value for {name!r}")
        return values[name]

    return re.sub(r"\{\{(\w+)\}\}", substitute, TEMPLATE.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--place", choices=sorted(PLACES), default="local")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    values = dict(PLACES[args.place])
    values.update(item.split("=", 1) for item in args.set)
    sys.stdout.write(GENERATED + render(values))


if __name__ == "__main__":
    main()
