"""Failing to start says why in one line, naming the setting or port, with no traceback."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import socket
import sys

import pytest

from gateway.envoy import Gateway
from services.common.startup import StartupError, load_settings
from services.ingest.settings import IngestSettings
from services.stack.stack import free_port
from tests.conftest import ROOT, scratch_dir


async def run(module: str, **env: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return await process.wait(), out.decode()


def one_line(output: str) -> str:
    assert "Traceback" not in output, output
    return output.strip().splitlines()[-1]


@pytest.mark.parametrize(("env", "expected"), [
    ({"INGEST_POOL_MAX_SIZE": "abc"}, "INGEST_POOL_MAX_SIZE=abc: Input should be a valid integer"),
    ({"INGEST_POOL_MAX_SIZE": "0"}, "INGEST_POOL_MAX_SIZE=0: Input should be greater than or equal to 1"),
    ({"INGEST_POOL_MAX_SIZE": "1000"}, "INGEST_POOL_MAX_SIZE=1000: Input should be less than or equal to 100"),
    ({"INGEST_API_KEYS": ",,"}, "INGEST_API_KEYS is set but holds no key"),
])
def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:secret-password@h/d")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StartupError) as caught:
        load_settings(IngestSettings)
    assert expected in str(caught.value)
    assert "secret-password" not in str(caught.value)


async def test_a_service_with_a_bad_setting_exits_with_one_line() -> None:
    code, output = await run("services.ingest", INGEST_POOL_MAX_SIZE="abc", DATABASE_URL="postgresql://u@h/d")
    assert code == 2
    assert one_line(output) == ("ingest cannot start: INGEST_POOL_MAX_SIZE=abc: Input should be a valid integer, "
                                "unable to parse string as an integer")


async def test_a_busy_port_is_named() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, output = await run("services.synth", SYNTH_LISTEN=f"127.0.0.1:{port}", SYNTH_API_TOKENS="t",
                                 SYNTH_METRICS_LISTEN="")
    assert code == 2
    assert one_line(output).startswith(f"synth cannot start: cannot listen on 127.0.0.1:{port} (SYNTH_LISTEN)")


async def test_an_unreachable_database_is_named() -> None:
    dead = f"postgresql://parley@127.0.0.1:{free_port()}/parley"
    code, output = await run("services.ingest", DATABASE_URL=dead, INGEST_DB_STARTUP_TIMEOUT_SECONDS="1",
                             INGEST_API_KEYS="k")
    assert code == 2
    assert "cannot reach PostgreSQL at 127.0.0.1:" in one_line(output)
    assert "(DATABASE_URL; ConnectionRefusedError)" in one_line(output)


async def test_a_second_make_run_on_the_same_data_is_told_so() -> None:
    data = scratch_dir("parley-lock-")
    with open(data / ".lock", "w") as lock:  # noqa: ASYNC230 (a lock file, once)
        fcntl.flock(lock, fcntl.LOCK_EX)
        code, output = await run("services.stack", PARLEY_DATA_DIR=str(data))
    assert code == 1
    assert one_line(output) == (f"make run: another `make run` is using {data}: stop it first, or set PARLEY_DATA_DIR")


def test_a_busy_gateway_port_is_named() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        gateway = Gateway(scratch_dir("parley-gw-busy-"), ingest_port=free_port(), synth_port=free_port(),
                          listen_port=port)
        with pytest.raises(RuntimeError) as caught:
            gateway.start()
    assert str(caught.value) == f"port {port} (GATEWAY_PORT) is in use: stop what uses it or set GATEWAY_PORT"
    assert not gateway.alive()


async def test_log_format_json_writes_one_object_per_line() -> None:
    dead = f"postgresql://parley@127.0.0.1:{free_port()}/parley"
    code, output = await run("services.ingest", LOG_FORMAT="json", DATABASE_URL=dead, INGEST_API_KEYS="k",
                             INGEST_DB_STARTUP_TIMEOUT_SECONDS="1")
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert code == 2 and lines
    assert {"time", "level", "logger", "request", "key", "message"} <= set(lines[0])
    assert any("database not reachable yet" in line["message"] for line in lines)
