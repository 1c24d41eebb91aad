"""A fake Ollama HTTP server speaking Ollama's wire format, told how to misbehave per call.

The real `ollama` client talks to it over HTTP; nothing is mocked on the client side.
Records are generated from the `format` schema each call sends, with a random
generator seeded by `options.seed` when given, so seeded runs reproduce.
"""

from __future__ import annotations

import json
import random
import re
import select
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testkit.fakes.records import record_for

# What a call can be told to do (FakeOllama.reset); "valid" unless a behaviour is queued:
# valid, malformed, prose, fence, invalid, truncated, huge_number, nan, duplicate, near_duplicate,
# slow, error500, error503, no_usage, stream_error (a 500 after the model started, as Ollama
# answers a non-streamed call whose runner fails mid-generation).


class FakeOllama:
    def __init__(self, models: tuple[str, ...] = ("gemma3:4b", "llama3.2:3b"), slots: int = 64,
                 tokens_per_second: float | None = None, port: int = 0) -> None:
        self.models = models
        self.behaviours: deque[str] = deque()
        self.calls: list[dict[str, Any]] = []
        self.cancelled = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.slow_seconds = 2.0
        self.record_calls = True
        self.tokens_per_second = tokens_per_second
        self._slots = threading.BoundedSemaphore(slots)
        self._last_valid = ""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeOllama:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self, *behaviours: str) -> None:
        with self._lock:
            self.behaviours = deque(behaviours)
            self.calls = []
            self.cancelled = 0
            self.max_in_flight = 0
            self._last_valid = ""

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def next_behaviour(self, body: dict[str, Any]) -> str:
        with self._lock:
            if self.record_calls:
                self.calls.append(body)
            return self.behaviours.popleft() if self.behaviours else "valid"

    def await_valid(self, seconds: float = 1.0, settle: float = 0.2) -> None:
        """Waits for a valid answer to repeat (records are asked for at once, so the repeat's
        call may come first), then a moment, so the client has accepted that answer before
        the repeat reaches it."""
        deadline = time.monotonic() + seconds
        while not self._last_valid and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(settle)

    def answer(self, body: dict[str, Any], behaviour: str) -> tuple[str, str]:
        """(content, done_reason) for one call."""
        options = body.get("options") or {}
        rng = random.Random(options.get("seed"))
        schema = body.get("format") if isinstance(body.get("format"), dict) else None
        record = record_for(schema, rng)
        text = json.dumps(record, ensure_ascii=False)
        with self._lock:
            if behaviour == "duplicate" and self._last_valid:
                return self._last_valid, "stop"
            if behaviour == "near_duplicate" and self._last_valid:  # the same words, shouted
                return json.dumps(_shouted(json.loads(self._last_valid)), ensure_ascii=False), "stop"
            if behaviour in ("valid", "slow", "no_usage", "duplicate"):
                self._last_valid = text
        return {
            "malformed": (text[: len(text) // 2] + ",}", "stop"),
            "prose": (f"Here is a realistic record:\n{text}\nLet me know if you need more!", "stop"),
            "fence": (f"```json\n{text}\n```", "stop"),
            "invalid": (json.dumps(_break(record, schema)), "stop"),
            "truncated": (text[: len(text) // 3], "length"),
            # What a real model once sent: a number literal too large to be finite.
            "huge_number": (_first_number(text, "1" + "0" * 400 + ".5"), "stop"),
            "nan": (_first_number(text, "NaN"), "stop"),
        }.get(behaviour, (text, "stop"))


def _shouted(value: Any) -> Any:
    """The same words, shouted: every string of three words or more (not an enum's value)."""
    if isinstance(value, str):
        return value.upper() + "!" if len(value.split()) >= 3 else value
    if isinstance(value, dict):
        return {k: _shouted(v) for k, v in value.items()}
    return [_shouted(v) for v in value] if isinstance(value, list) else value


def _first_number(text: str, literal: str) -> str:
    """The record's JSON text with its first number written as `literal`."""
    replaced, n = re.subn(r'(:\s*)-?\d+(\.\d+)?([eE][-+]?\d+)?', lambda m: m.group(1) + literal, text, count=1)
    return replaced if n else text[:-1] + f', "x": {literal}}}'



def _break(record: Any, schema: dict[str, Any] | None) -> Any:
    """The record made to fail its schema in a way Ollama's grammar would not prevent."""
    required = (schema or {}).get("required") or []
    if isinstance(record, dict) and required:
        return {k: v for k, v in record.items() if k not in required}
    return ["not", "an", "object"]


def _handler(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Ollama (Go's net/http) sets TCP_NODELAY; without it, small NDJSON chunks meet
        # delayed ACKs and every call stalls ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, *_: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/api/version":
                self._json(200, {"version": "0.12.6"})
            elif self.path == "/api/tags":
                self._json(200, {"models": [_model_entry(name) for name in fake.models]})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path == "/fake/config":  # the benchmark switches the token rate between runs
                config = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.tokens_per_second = config.get("tokens_per_second")
                self._json(200, {"tokens_per_second": fake.tokens_per_second})
                return
            if self.path != "/api/chat":
                self._json(404, {"error": "not found"})
                return
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            behaviour = fake.next_behaviour(body)
            if body.get("model") not in fake.models:
                self._json(404, {"error": f"model '{body.get('model')}' not found"})
            elif behaviour in ("error500", "error503"):
                status = int(behaviour[-3:])
                self._json(status, {"error": "llama runner process has terminated: exit status 2"})
            else:
                with fake._slots:
                    fake.enter()
                    try:
                        self._chat(body, behaviour)
                    finally:
                        fake.leave()

        def _chat(self, body: dict[str, Any], behaviour: str) -> None:
            if behaviour in ("duplicate", "near_duplicate"):
                fake.await_valid()
            content, done_reason = fake.answer(body, behaviour)
            prompt_tokens = sum(len(m.get("content", "")) for m in body.get("messages", [])) // 4
            final: dict[str, Any] = {
                "model": body["model"], "created_at": _now(), "message": {"role": "assistant", "content": ""},
                "done": True, "done_reason": done_reason, "total_duration": 1_000_000, "load_duration": 1000,
                "prompt_eval_count": prompt_tokens, "prompt_eval_duration": 1000,
                "eval_count": max(1, len(content) // 4), "eval_duration": 1000,
            }
            if behaviour == "no_usage":
                del final["prompt_eval_count"], final["eval_count"]
            delay = fake.slow_seconds if behaviour == "slow" else 0.0
            if fake.tokens_per_second:
                delay += final.get("eval_count", 0) / fake.tokens_per_second
            if body.get("stream", True):
                self._stream(body, content, final, delay)
            elif behaviour == "stream_error":
                self._json(500, {"error": "an error was encountered while running the model"})
            elif self._generate(delay):
                self._json(200, {**final, "message": {"role": "assistant", "content": content}})

        def _generate(self, seconds: float) -> bool:
            """Takes `seconds`, as generation would; False if the client hung up meanwhile
            (Ollama sees that too: its request context is cancelled and generation stops)."""
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    with fake._lock:
                        fake.cancelled += 1
                    return False
            return True

        def _stream(self, body: dict[str, Any], content: str, final: dict[str, Any], delay: float) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pieces = [content[i: i + 40] for i in range(0, len(content), 40)] or [""]
            try:
                for piece in pieces:
                    time.sleep(delay / len(pieces))
                    self._chunk({"model": body["model"], "created_at": _now(),
                                 "message": {"role": "assistant", "content": piece}, "done": False})
                self._chunk(final)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                with fake._lock:
                    fake.cancelled += 1

        def _chunk(self, obj: dict[str, Any]) -> None:
            line = json.dumps(obj).encode() + b"\n"
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()

        def _json(self, status: int, obj: dict[str, Any]) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _model_entry(name: str) -> dict[str, Any]:
    return {"name": name, "model": name, "modified_at": "2025-10-01T12:00:00Z", "size": 3_338_801_804,
            "digest": "a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a",
            "details": {"format": "gguf", "family": "gemma3", "parameter_size": "4.3B",
                        "quantization_level": "Q4_K_M"}}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


def main() -> None:
    """`python -m testkit.fakes.ollama --port N --slots 4`: the fake as its own process (benchmarks)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--tokens-per-second", type=float, default=None)
    args = parser.parse_args()
    fake = FakeOllama(slots=args.slots, tokens_per_second=args.tokens_per_second, port=args.port)
    fake.record_calls = False
    fake.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
