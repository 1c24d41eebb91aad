"""The stack's settings: values given by name win, and a child process reads back what the parent set."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.settings import IngestSettings
from services.stack.settings import StackSettings, settings_env


def test_values_given_by_name_are_used_not_the_defaults(tmp_path: Path) -> None:
    # A test or benchmark stack must never fall back to .data/ or the default ports.
    settings = StackSettings(data_dir=tmp_path, pg_port=5555, gateway_port=0)
    assert (settings.data_dir, settings.pg_port, settings.gateway_port) == (tmp_path, 5555, 0)


def test_a_child_reads_back_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = IngestSettings(database_url="postgresql://u@h:1/d", api_keys="a,b", listen="127.0.0.1:7",
                            migrate_on_start=False, query_timeout_seconds=2.5)
    for name, value in settings_env(parent).items():
        monkeypatch.setenv(name, value)
    assert IngestSettings() == parent
