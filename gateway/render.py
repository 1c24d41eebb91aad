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
LIMITS = {"max_connections": "1024", "headers_timeout": "10", "request_timeout": "60",
          "source_rate": "1000", "source_burst": "2000", "trusted_hops": "0", "large_body_rate": "32",
          # Under the gateway container's 256 MiB memory limit in Kubernetes.
          "max_heap_bytes": str(200 * 1024 * 1024)}

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
        "openapi": "/etc/parley/openapi.json",
        "docs": "/etc/parley/docs",
        "console": "/etc/parley/console",
        "admin_pipe": "/tmp/envoy-admin.sock",
        # Behind the ingress controller, which appends the client to X-Forwarded-For.
        "trusted_hops": "1",
    },
}


def lua_status_table() -> str:
    """services/common/errors.py's HTTP_STATUS as a Lua table, keyed by numeric gRPC code."""
    entries = ", ".join(f"[{code.value[0]}] = {status}" for code, status in HTTP_STATUS.items() if code.value[0])
    header = "-- GENERATED from services/common/errors.py HTTP_STATUS by gateway/render.py.\n"
    return f"{header}local HTTP_STATUS = {{{entries}}}\n"


def greater_than(n: int) -> str:
    """An RE2 pattern for the decimal integers above `n` (a Content-Length over the limit)."""
    digits = str(n)
    options = [f"[1-9][0-9]{{{len(digits)},}}"]
    for i, d in enumerate(digits):
        if d != "9":
            low = int(d) + 1
            rest = len(digits) - i - 1
            options.append(f"{digits[:i]}[{low}-9]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return "^0*(" + "|".join(options) + ")$"


_PER_ROUTE = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute"


def _checks(on: str | None) -> str:
    """Per-route config of the two credential checks: `on` is the service asked, or None."""
    entries = [
        f'"parley.check.{name}": {{"@type": {_PER_ROUTE}, '
        + ("check_settings: {}}" if name == on else "disabled: true}")
        for name in ("ingest", "synth")
    ]
    return "{" + ", ".join(entries) + "}"


# REST bodies up to this size go to the service unchecked by the gateway (see the template).
CHECK_ABOVE_BYTES = 64 * 1024
# Bodies over this size are admitted at GATEWAY_LARGE_BODY_RATE_PER_SECOND, from all sources.
LARGE_BODY_BYTES = 256 * 1024


def _check(cluster: str) -> str:
    """An ext_authz filter that asks `cluster` on headers alone, for large bodies; 503 if it cannot answer."""
    large = (f"{{filter: parley, path: [{{key: declared_length}}], "
             f"value: {{double_match: {{range: {{start: {CHECK_ABOVE_BYTES + 1}, end: 1e19}}}}}}}}")
    return (
        '{"@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz, '
        f"grpc_service: {{envoy_grpc: {{cluster_name: {cluster}}}, timeout: 2s}}, "
        "transport_api_version: V3, failure_mode_allow: false, status_on_error: {code: 503}, "
        f"filter_enabled_metadata: {large}}}"
    )


_NO_BUFFER = ('"envoy.filters.http.buffer": '
              '{"@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute, disabled: true}')

CHECKS = {
    "ingest_checks": _checks("ingest"), "synth_checks": _checks("synth"), "no_checks": _checks(None),
    "native_grpc": _checks(None)[:-1] + ", " + _NO_BUFFER + "}",
    "streamed_ingest": _checks("ingest")[:-1] + ", " + _NO_BUFFER + "}",
    "check_ingest": _check("ingest"), "check_synth": _check("synth"),
    "check_above_bytes": str(CHECK_ABOVE_BYTES),
    "over_large_body_bytes": greater_than(LARGE_BODY_BYTES),
}


# The console's pages: nothing but this origin's own scripts, styles and API (a script
# injected through data could neither run nor send anything elsewhere), never framed.
CONSOLE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
CONSOLE_HEADERS = "[" + ", ".join(
    f'{{header: {{key: {name}, value: "{value}"}}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}}'
    for name, value in (("content-security-policy", CONSOLE_POLICY), ("x-content-type-options", "nosniff"),
                        ("referrer-policy", "no-referrer"), ("x-frame-options", "DENY"),
                        ("cache-control", "no-cache"))) + "]"


# Each path the gateway serves (a regex over :path without the query) and the methods it takes:
# any other method gets 405 with this Allow, whether a route or Envoy itself refused it.
ALLOWED = (
    ("^/(assets/console[.](js|css))?$", "GET, HEAD"),
    ("^/api/conversations$", "GET, POST"),
    ("^/api/(conversations:(stats|export)|insights:top)$", "GET"),
    ("^/api/conversations:(batchDelete|import)$", "POST"),
    ("^/api/conversations/[^/]+$", "GET, DELETE"),
    ("^/api/keys$", "GET, POST"),
    ("^/api/keys:self$", "GET"),
    ("^/api/keys/[^/]+:(revoke|rotate)$", "POST"),
    ("^/api/v1/synthetic-data(:stream)?$", "POST"),
    ("^/api/v1/models$", "GET"),
)


def _not_allowed(allow: str) -> str:
    return "Method not allowed; use " + " or ".join(m for m in allow.split(", ") if m != "HEAD")


def method_not_allowed_routes() -> str:
    route = ('                        - match: {{safe_regex: {{regex: "{0}"}}}}\n'
             '                          direct_response: {{status: 405, body: {{inline_string: "{1}"}}}}\n'
             '                          response_headers_to_add: [{{header: {{key: allow, value: "{2}"}}}}]')
    return "\n".join(route.format(path, _not_allowed(allow), allow) for path, allow in ALLOWED)


def query_not_allowed_mappers() -> str:
    mapper = ('                    - filter:\n'
              '                        and_filter:\n'
              '                          filters:\n'
              '                            - status_code_filter: {{comparison: {{op: EQ, value: {{default_value: 400, '
              'runtime_key: parley.lr.query{0}}}}}}}\n'
              '                            - header_filter: {{header: {{name: ":method", '
              'string_match: {{exact: QUERY}}}}}}\n'
              '                            - header_filter: {{header: {{name: ":path", string_match: '
              '{{safe_regex: {{regex: "{1}"}}}}}}}}\n'
              '                      status_code: 405\n'
              '                      body: {{inline_string: "{2}"}}\n'
              '                      headers_to_add: [{{header: {{key: allow, value: "{3}"}}, '
              'append_action: OVERWRITE_IF_EXISTS_OR_ADD}}]')
    return "\n".join(mapper.format(n, path[:-1] + "([?].*)?$", _not_allowed(allow), allow)
                     for n, (path, allow) in enumerate(ALLOWED))


def render(values: dict[str, str]) -> str:
    source = lua_status_table() + LUA.read_text()
    lua = "\n".join(_LUA_INDENT + line if line else "" for line in source.splitlines())
    values = {"lua_source": lua, "max_request_bytes": str(MAX_REQUEST_BYTES), "max_header_kb": str(MAX_HEADER_KB),
              "over_max_request_bytes": greater_than(MAX_REQUEST_BYTES),
              "console_headers": CONSOLE_HEADERS, "method_not_allowed": method_not_allowed_routes(),
              "query_not_allowed": query_not_allowed_mappers(), **LIMITS, **CHECKS, **values}

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
