"""The stack's own settings (ports, data folder), and service settings handed to a child as environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common import ports
from services.common.startup import env_name

ROOT = Path(__file__).resolve().parents[2]


class StackSettings(BaseSettings):
    """What `make run` reads from the environment besides the services' own settings."""

    # populate_by_name: a value given by field name (tests, bench) is used, not ignored
    # in favour of the environment alias.
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    gateway_port: int = Field(ports.GATEWAY, ge=0, le=65535)
    gateway_admin_port: int = Field(ports.GATEWAY_ADMIN, ge=0, le=65535)
    # One worker thread handles several thousand requests/s; on a small machine a
    # second one only takes CPU from the services behind it.
    gateway_workers: int = Field(1, ge=1, le=64)
    gateway_max_connections: int = Field(1024, ge=1, le=1_000_000)
    gateway_headers_timeout_seconds: float = Field(10.0, gt=0, le=600)
    gateway_request_timeout_seconds: float = Field(60.0, gt=0, le=3600)
    gateway_max_heap_mb: int = Field(256, ge=64, le=1_000_000)
    # Requests per second per client address, in bursts up to gateway_source_burst.
    gateway_source_rate_per_second: int = Field(1000, ge=1, le=1_000_000_000)
    gateway_source_burst: int = Field(2000, ge=1, le=1_000_000_000)
    # Requests with bodies over 256 KiB per second, from all sources together.
    gateway_large_body_rate_per_second: int = Field(32, ge=1, le=1_000_000)
    data_dir: Path = Field(ROOT / ".data", validation_alias="PARLEY_DATA_DIR")
    pg_port: int = Field(ports.LOCAL_POSTGRES, ge=0, le=65535, validation_alias="PARLEY_PG_PORT")
    # Set: use that PostgreSQL and start none.
    database_url: str = Field("", repr=False)


def gateway_limits(settings: StackSettings) -> dict[str, str]:
    """The gateway template's client bounds, from the stack's settings."""
    return {"max_connections": str(settings.gateway_max_connections),
            "headers_timeout": f"{settings.gateway_headers_timeout_seconds:g}",
            "request_timeout": f"{settings.gateway_request_timeout_seconds:g}",
            "max_heap_bytes": str(settings.gateway_max_heap_mb * 1024 * 1024),
            "source_rate": str(settings.gateway_source_rate_per_second),
            "source_burst": str(settings.gateway_source_burst),
            "large_body_rate": str(settings.gateway_large_body_rate_per_second)}


def settings_env(settings: BaseSettings) -> dict[str, str]:
    """`settings` as the environment variables that make a child process read the same values."""
    env = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is not None:
            env[env_name(type(settings), name)] = str(value).lower() if isinstance(value, bool) else str(value)
    return env
