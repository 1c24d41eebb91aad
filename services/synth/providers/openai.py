"""OpenAI's chat-completions API, as OpenAI itself, llama.cpp's llama-server, vLLM, LM Studio
and OpenRouter speak it: structured output through `response_format`, one record per call.

`response_format` is tried strictest first: a JSON Schema with `strict` (OpenAI enforces it;
llama-server and vLLM turn any schema into a grammar), then the schema without `strict`
(OpenAI's strict mode refuses schemas that leave a property optional), then plain JSON
mode (servers without schema support), where the schema in the system message and the
engine's validation still hold the record to it. The level a schema needed is remembered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.common.errors import DeadlineExceeded, InvalidArgument, NotFound, Unavailable
from services.synth.providers.base import Call, Completion
from services.synth.providers.ollama import public_host

log = logging.getLogger("parley.synth.openai")

_LEVELS = ("json_schema_strict", "json_schema", "json_object")
_MODELS_SECONDS = 60.0  # how long a server's model list is trusted
_REMEMBERED_SCHEMAS = 256


@dataclass(frozen=True)
class Endpoint:
    """One OpenAI-compatible server, as `config.provider` names it."""

    name: str
    base_url: str  # up to and including /v1
    api_key: str = field(default="", repr=False)  # never logged, never in an error
    # Sampling options beyond OpenAI's that this server takes (llama-server: Ollama's
    # defaults, without which small models loop inside strings). OpenAI refuses unknown ones.
    extra: dict[str, float | int] = field(default_factory=dict)
    default_model: str = ""  # "": the first model the server lists


class OpenAIProvider:
    def __init__(self, endpoint: Endpoint, call_timeout: float) -> None:
        self.name = endpoint.name
        self.default_model = endpoint.default_model
        self._endpoint = endpoint
        self._host = public_host(endpoint.base_url)
        self._timeout = call_timeout
        headers = {"authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        self._client = httpx.AsyncClient(base_url=endpoint.base_url.rstrip("/") + "/", headers=headers,
                                         timeout=httpx.Timeout(call_timeout, connect=5.0))
        self._models: tuple[float, list[str]] | None = None
        self._levels: OrderedDict[str, int] = OrderedDict()  # schema text -> index into _LEVELS

    async def models(self) -> list[str]:
        """The models the server serves (GET /v1/models), kept for a minute."""
        now = time.monotonic()
        if self._models and now - self._models[0] < _MODELS_SECONDS:
            return self._models[1]
        body = await self._request("GET", "models", None)
        names = [m["id"] for m in body.get("data", []) if isinstance(m, dict) and isinstance(m.get("id"), str)]
        self._models = (now, names)
        return names

    async def model_for(self, requested: str) -> str:
        """The model a call uses: the one asked for if the server serves it (llama-server
        answers to any name, so the list is checked), else a 404 naming what it serves."""
        served = await self.models()
        name = requested or self._endpoint.default_model or (served[0] if served else "")
        if name not in served:
            shown = ", ".join(served[:10]) or "none"
            raise NotFound(f"Model '{name}' is not served by {self.name} at {self._host}; it serves: {shown}")
        return name

    async def complete(self, call: Call) -> Completion:
        schema_text = json.dumps(call.schema, sort_keys=True) if call.schema else ""
        level = self._levels.get(schema_text, 0) if call.schema else len(_LEVELS) - 1
        while True:
            try:
                body = await self._request("POST", "chat/completions", self._body(call, _LEVELS[level]))
            except InvalidArgument as exc:
                if level + 1 < len(_LEVELS) and _about_format(exc.message):
                    level += 1  # the server refused this response_format: a looser one
                    log.info("%s refused response_format %s; trying %s", self.name, _LEVELS[level - 1],
                             _LEVELS[level])
                    continue
                raise
            if call.schema:
                self._remember(schema_text, level)
            return _completion(body)

    def _body(self, call: Call, level: str) -> dict[str, Any]:
        body: dict[str, Any] = {"model": call.model, "messages": call.messages, "temperature": call.temperature,
                                **self._endpoint.extra}
        if call.seed is not None:
            body["seed"] = call.seed
        if call.max_tokens is not None:
            body["max_tokens"] = call.max_tokens
        if level == "json_object":
            body["response_format"] = {"type": "json_object"}
        else:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "record", "schema": call.schema, **({"strict": True} if level.endswith("strict") else {})}}
        return body

    def _remember(self, schema_text: str, level: int) -> None:
        self._levels[schema_text] = level
        self._levels.move_to_end(schema_text)
        while len(self._levels) > _REMEMBERED_SCHEMAS:
            self._levels.popitem(last=False)

    async def _request(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.request(method, path, json=body)
        except (TimeoutError, httpx.TimeoutException):
            raise DeadlineExceeded(f"{self.name} at {self._host} did not answer within {self._timeout:g}s") from None
        except httpx.ConnectError:
            raise Unavailable(f"{self.name} is unreachable at {self._host}") from None
        except httpx.HTTPError as exc:
            raise Unavailable(f"{self.name} at {self._host} failed ({type(exc).__name__})") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success and isinstance(answer, dict):
            return answer
        raise self._translate(response.status_code, answer)

    def _translate(self, status: int, answer: Any) -> Exception:
        error = answer.get("error") if isinstance(answer, dict) else None
        detail = str(error.get("message") if isinstance(error, dict) else error or "no detail")[:300]
        if status in (401, 403):
            return Unavailable(f"{self.name} at {self._host} refused the API key ({status}); check its settings")
        if status == 404:
            return NotFound(f"{self.name} at {self._host} has no such model or path: {detail}")
        if status == 429:
            return Unavailable(f"{self.name} at {self._host} is rate limiting; retry later")
        if 400 <= status < 500:
            return InvalidArgument(f"{self.name} rejected the request: {detail}")
        log.warning("%s answered %s: %s", self.name, status, detail)
        return Unavailable(f"{self.name} at {self._host} failed ({status}): {detail}")

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(min(5.0, self._timeout)):
                self._models = None
                await self.models()
            return True
        except (TimeoutError, DeadlineExceeded, Unavailable, NotFound, InvalidArgument):
            return False

    async def close(self) -> None:
        await self._client.aclose()


def _completion(body: dict[str, Any]) -> Completion:
    choices = body.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message")
    usage = body.get("usage")
    message = message if isinstance(message, dict) else {}
    usage = usage if isinstance(usage, dict) else {}
    content = message.get("content")
    return Completion(
        content=content if isinstance(content, str) else "",
        input_tokens=_count(usage.get("prompt_tokens")),
        output_tokens=_count(usage.get("completion_tokens")),
        truncated=choice.get("finish_reason") == "length",
    )


def _about_format(message: str) -> bool:
    """Whether a 400 is about response_format (the server does not take that kind)."""
    lowered = message.lower()
    return any(word in lowered for word in ("response_format", "json_schema", "schema"))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
