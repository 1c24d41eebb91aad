"""A fake OpenAI-compatible server (chat completions and models, as llama-server, vLLM and
OpenAI answer them), for the `openai` provider family. Like llama-server it generates for
any model name it is asked for, so the provider's own check against /v1/models is what
refuses an unknown one. Told what it refuses, it answers as OpenAI does (400 with an
`error` object), so the provider's fallbacks run against the real wire format.
"""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testkit.fakes.records import record_for


class FakeOpenAI:
    def __init__(self, models: tuple[str, ...] = ("gemma-3-270m",)) -> None:
        self.models = models
        self.calls: list[dict[str, Any]] = []
        self.api_key = ""  # when set, requests must carry it as a Bearer token
        # What it answers 400 to: "strict" (json_schema with strict), "json_schema" (any schema).
        self.refuses: set[str] = set()
        # Each call's answer, in turn, once queued: "valid", "fence", "length".
        self.answers: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL a client is configured with (…/v1)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self, *answers: str, refuses: tuple[str, ...] = ()) -> None:
        with self._lock:
            self.calls = []
            self.answers = list(answers)
            self.refuses = set(refuses)

    def refusal(self, body: dict[str, Any]) -> str | None:
        """The message of the 400 this body gets, if it gets one."""
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            if "json_schema" in self.refuses:
                return "response_format type json_schema is not supported by this model"
            if "strict" in self.refuses and response_format["json_schema"].get("strict"):
                return ("Invalid schema for response_format 'record': In context=(), 'required' is required to "
                        "be supplied and to be an array including every key in properties.")
        return None

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append(body)
            answer = self.answers.pop(0) if self.answers else "valid"
        response_format = body.get("response_format") or {}
        schema = (response_format.get("json_schema") or {}).get("schema") or _schema_in_prompt(body)
        text = json.dumps(record_for(schema, random.Random(body.get("seed"))), ensure_ascii=False)
        content, finish = {"fence": (f"Sure! Here it is:\n```json\n{text}\n```", "stop"),
                           "length": (text[: len(text) // 2], "length")}.get(answer, (text, "stop"))
        prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
        completion = max(1, len(content) // 4)
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model"), "system_fingerprint": "fake",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}}


def _schema_in_prompt(body: dict[str, Any]) -> Any:
    """In JSON mode, a model follows the schema its system message states (as Parley's does)."""
    for message in body.get("messages", []):
        text = str(message.get("content", ""))
        if message.get("role") == "system" and "JSON Schema:\n" in text:
            try:
                return json.loads(text.split("JSON Schema:\n", 1)[1])
            except ValueError:
                return None
    return None


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *_: Any) -> None:
            pass

        def _authorized(self) -> bool:
            if fake.api_key and self.headers.get("authorization") != f"Bearer {fake.api_key}":
                self._error(401, "Incorrect API key provided.", "invalid_api_key")
                return False
            return True

        def do_GET(self) -> None:
            if not self._authorized():
                return
            if self.path == "/v1/models":
                self._json(200, {"object": "list", "data": [
                    {"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in fake.models]})
            else:
                self._error(404, f"Unknown path {self.path}", None)

        def do_POST(self) -> None:
            if not self._authorized():
                return
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            if self.path != "/v1/chat/completions":
                self._error(404, f"Unknown path {self.path}", None)
            elif refusal := fake.refusal(body):
                with fake._lock:
                    fake.calls.append(body)
                self._error(400, refusal, None, param="response_format")
            else:
                self._json(200, fake.completion(body))

        def _error(self, status: int, message: str, code: str | None, param: str | None = None) -> None:
            self._json(status, {"error": {"message": message, "type": "invalid_request_error", "param": param,
                                          "code": code}})

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
