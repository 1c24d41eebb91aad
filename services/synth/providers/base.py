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
    max_tokens: int | None = None  # the server's own limit when None


class Provider(Protocol):
    name: str
    default_model: str  # what a request without config.model gets ("": the first the server lists)

    async def model_for(self, requested: str) -> str:
        """The model a request uses ("" asks for the provider's default); NotFound when the
        provider cannot serve it."""
        ...

    async def models(self) -> list[str]:
        """The models the provider serves now."""
        ...

    async def complete(self, call: Call) -> Completion:
        """One model call. Raises a ParleyError (Unavailable, NotFound, DeadlineExceeded...)
        for failures that no retry with a corrected prompt can fix."""
        ...

    async def ping(self) -> bool:
        """Whether the backend answers now (readiness)."""
        ...

    async def close(self) -> None: ...
