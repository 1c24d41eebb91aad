"""Failing to start, clearly: one line that names the setting or port at fault and what to do."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop
from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class StartupError(RuntimeError):
    """Why a process cannot start, said in one line with what to do about it."""


def env_name(cls: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from."""
    info = cls.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        alias = alias.choices[0]
    if isinstance(alias, str):
        return alias.upper()
    return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


def load_settings(cls: type[SettingsT], **values: Any) -> SettingsT:
    """The settings from `values` over the environment, or a StartupError naming each bad variable."""
    try:
        return cls(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            value = error.get("input")
            # Secrets and URLs (which may hold a password) are never echoed.
            secret = field.endswith(("keys", "tokens", "secret", "url")) or isinstance(value, dict)
            shown = "" if secret else f"={value!s}"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{env_name(cls, field)}{shown}: {message}" if field else message)
        raise StartupError("; ".join(problems)) from None


def run_service(main: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
    """Runs a service's main on uvloop (asyncpg's own benchmarks are built on it; here it
    carried single-entity ingest from about 1,450 to about 1,650 requests/s). A
    StartupError ends the process with its one line on stderr and exit status 2."""
    try:
        uvloop.run(main())
    except StartupError as exc:
        print(f"{name} cannot start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
