"""What the engine needs from an LLM backend; one module per backend implements it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Completion:
    content: str
    input_tokens: int
    output_tokens: int
    # The model stopped at its length limit: the content is cut off.
    truncated: bool


@dataclass(frozen=True)
class Call:
    model: str
    messages: list[dict[str, str]]
    # The JSON Schema the answer must follow, or None for any JSON.
    schema: dict[str, Any] | None
    temperature: float
    seed: int | None


class Provider(Protocol):
    name: str

    async def complete(self, call: Call) -> Completion:
        """One model call. Raises a ParleyError (Unavailable, NotFound, DeadlineExceeded...)
        for failures that no retry with a corrected prompt can fix."""
        ...

    async def ping(self) -> bool:
        """Whether the backend answers now (readiness)."""
        ...

    async def close(self) -> None: ...
