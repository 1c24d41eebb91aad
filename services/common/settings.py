"""Settings shared by both services; each service's settings class extends this one."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def split_csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class ServerSettings(BaseSettings):
    """Read once from the environment in __main__, then passed down. Each service's
    class adds its own `listen` default (services/common/ports.py)."""

    model_config = SettingsConfigDict(extra="ignore")

    # host:port to serve on; port 0 picks a free one.
    listen: str
    shutdown_grace_seconds: float = Field(5.0, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"] = "INFO"
    # "text" for people (make run), "json" for log collectors; LOG_FORMAT sets both services.
    log_format: Literal["text", "json"] = Field(
        "text", validation_alias=AliasChoices("LOG_FORMAT", "log_format"))
    # A revoked key is refused within this many seconds on every replica.
    key_cache_seconds: float = Field(2.0, ge=0, le=60)
    # Requests per second per key, in bursts up to key_rate_burst; 0 for no limit.
    key_rate_per_second: float = Field(1000.0, ge=0)
    key_rate_burst: int = Field(2000, ge=1)
    # How often the keys used since the last time get their last_used_at written.
    key_usage_flush_seconds: float = Field(30.0, gt=0, le=3600)
