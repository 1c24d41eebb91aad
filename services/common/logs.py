"""Logging for both services: every line names its request and key; text or JSON lines."""

from __future__ import annotations

import json
import logging
from typing import Any

from services.common.keys import current_key, current_request

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s request=%(request)s key=%(key)s %(message)s"


def install_key_field() -> None:
    """Every log record names the request it belongs to (`request`, the gateway's
    x-request-id) and its key (`key`, never the key itself); "-" outside a request. Idempotent."""
    make = logging.getLogRecordFactory()
    if getattr(make, "parley_key_field", False):
        return

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = make(*args, **kwargs)
        made.key = current_key.get()
        made.request = current_request.get()
        return made

    record.parley_key_field = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record)


class JsonLines(logging.Formatter):
    """One JSON object per line, for log collectors (LOG_FORMAT=json)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname, "logger": record.name,
            "request": getattr(record, "request", "-"), "key": getattr(record, "key", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, log_format: str = "text") -> None:
    install_key_field()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request to Ollama at INFO: one line per record, and measurable CPU.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
