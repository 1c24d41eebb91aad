"""The code and contracts stay lint-clean: buf (STANDARD rules), ruff and mypy."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_buf_lint_is_clean() -> None:
    assert BUF.exists(), "buf is installed by `make test` (npm @bufbuild/buf)"
    result = run(sys.executable, "-m", "services.common.protogen", "--lint", "--buf", str(BUF))
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean() -> None:
    result = run(sys.executable, "-m", "ruff", "check", "services", "tests", "testkit", "gateway", "bench", "parley")
    assert result.returncode == 0, result.stdout


def test_mypy_is_clean() -> None:
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout
