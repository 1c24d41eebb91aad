"""Ollama through its own AsyncClient: structured outputs with `format`, one JSON answer per call."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import httpx
import ollama

from services.common.errors import DeadlineExceeded, InvalidArgument, NotFound, Unavailable
from services.synth.providers.base import Call, Completion

log = logging.getLogger("parley.synth.ollama")


def public_host(host: str) -> str:
    """The host as it may appear in an error: no credentials, no path."""
    parts = urlsplit(host if "://" in host else f"http://{host}")
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


class OllamaProvider:
    name = "ollama"

    def __init__(self, host: str, call_timeout: float, default_model: str) -> None:
        self._host = public_host(host)
        self.default_model = default_model
        self._timeout = call_timeout
        self._client = ollama.AsyncClient(host=host, timeout=httpx.Timeout(call_timeout, connect=5.0))

    async def model_for(self, requested: str) -> str:
        """Ollama itself says when it lacks the model (404 at the first call)."""
        return requested or self.default_model

    async def models(self) -> list[str]:
        """The models pulled on the server (/api/tags)."""
        try:
            async with asyncio.timeout(min(5.0, self._timeout)):
                listed = await self._client.list()
        except (TimeoutError, httpx.TimeoutException):
            raise DeadlineExceeded(f"Ollama at {self._host} did not answer within 5s") from None
        except (ConnectionError, httpx.HTTPError, ollama.ResponseError):
            raise Unavailable(f"Ollama is unreachable at {self._host}") from None
        return [m.model for m in listed.models if m.model]

    async def complete(self, call: Call) -> Completion:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._chat(call)
        except (TimeoutError, httpx.TimeoutException):
            raise DeadlineExceeded(f"Ollama at {self._host} did not answer within {self._timeout:g}s") from None
        except (ConnectionError, httpx.ConnectError):
            raise Unavailable(f"Ollama is unreachable at {self._host}") from None
        except (httpx.TransportError, httpx.DecodingError, ValueError) as exc:
            raise Unavailable(f"Ollama at {self._host} sent a broken answer ({type(exc).__name__})") from None
        except ollama.ResponseError as exc:
            raise self._translate(exc, call.model) from None

    async def _chat(self, call: Call) -> Completion:
        options: dict[str, float | int] = {"temperature": call.temperature}
        if call.seed is not None:
            options["seed"] = call.seed
        if call.max_tokens is not None:
            options["num_predict"] = call.max_tokens
        # stream=False: one JSON answer per record. Streaming would cost a JSON parse and
        # a response object per token (Ollama streams token by token) for nothing: a
        # record is only usable once complete. Cancelling still closes the connection,
        # which is how Ollama learns to stop generating.
        answer = await self._client.chat(
            model=call.model, messages=call.messages, format=call.schema or "json", options=options, stream=False
        )
        return Completion(
            content=answer.message.content or "",
            input_tokens=answer.prompt_eval_count or 0,
            output_tokens=answer.eval_count or 0,
            truncated=answer.done_reason == "length",
        )

    def _translate(self, exc: ollama.ResponseError, model: str) -> Exception:
        detail = str(exc.error)[:200]
        if exc.status_code == 404:
            return NotFound(
                f"Model '{model}' is not available on the Ollama server at {self._host}; "
                f"pull it with `ollama pull {model}`"
            )
        if 400 <= exc.status_code < 500:
            return InvalidArgument(f"Ollama rejected the request: {detail}")
        log.warning("ollama answered %s: %s", exc.status_code, detail)
        return Unavailable(f"Ollama at {self._host} failed ({exc.status_code}): {detail}")

    async def ping(self) -> bool:
        """Whether Ollama answers now (readiness), within a few seconds."""
        try:
            async with asyncio.timeout(min(5.0, self._timeout)):
                await self._client.list()
            return True
        except (TimeoutError, ConnectionError, httpx.HTTPError, ollama.ResponseError):
            return False

    async def close(self) -> None:
        await self._client.close()
