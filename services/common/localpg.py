"""A throwaway or persistent PostgreSQL cluster in a local folder, for `make run` and the tests."""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
import pwd
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger("parley.localpg")

DATABASE = "parley"
USER = "parley"


def find_bindir() -> Path:
    """The machine's PostgreSQL server binaries, else the `pgserver` wheel's (`make setup`
    installs it on a machine that has none)."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    wheel = importlib.util.find_spec("pgserver")
    if wheel and wheel.origin:
        return Path(wheel.origin).parent / "pginstall" / "bin"
    raise RuntimeError(
        "no PostgreSQL server binaries found: install PostgreSQL (initdb on PATH or PG_BINDIR), "
        "or `pip install pgserver`, or set DATABASE_URL to a server you run"
    )


class LocalPostgres:
    """initdb on first use, then pg_ctl start/stop; data survives between runs."""

    def __init__(self, datadir: Path, port: int, *, durable: bool = True) -> None:
        self.datadir = datadir.resolve()
        self.port = port
        # Not durable: no fsync, as PostgreSQL's own test suites run throwaway clusters.
        self._durable = durable
        self.bindir = find_bindir()
        # The server refuses to run as root; root (CI, containers) runs it as another user.
        self._owner = _service_user() if os.geteuid() == 0 else None

    @property
    def dsn(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        if not (self.datadir / "PG_VERSION").exists():
            self._initdb()
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        if not self._durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.datadir / "server.log"), "-w", "-t", "60",
                  "-o", options, "start")
        log.info("PostgreSQL listening on 127.0.0.1:%d (data in %s)", self.port, self.datadir)

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def _initdb(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self._owner:
            shutil.chown(self.datadir, self._owner, self._owner)
        os.chmod(self.datadir, 0o700)
        # trust on loopback only: a development cluster on 127.0.0.1 with no unix socket.
        self._run("initdb", "-D", str(self.datadir), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-locale",
                  *([] if self._durable else ["--no-sync"]))
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write("\n# parley development defaults\nfsync = on\nmax_connections = 200\n")
        self._run("postgres", "--single", "-D", str(self.datadir), "postgres",
                  stdin=f"CREATE DATABASE {DATABASE};\n")

    def _run(self, tool: str, *args: str, stdin: str | None = None) -> None:
        command = [str(self.bindir / tool), *args]
        if self._owner:
            command = ["runuser", "-u", self._owner, "--", *command]
        # Own session: a Ctrl-C meant for `make run` must not reach the server directly.
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, check=False, start_new_session=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")


def _service_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")
