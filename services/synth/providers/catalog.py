"""The providers a request may name in `config.provider`, and how each is reached."""

from __future__ import annotations

from parley.synth.v1 import synth_service_pb2 as pb
from services.common import contract
from services.common.startup import StartupError
from services.synth.providers.base import Provider
from services.synth.providers.ollama import OllamaProvider
from services.synth.providers.openai import Endpoint, OpenAIProvider
from services.synth.settings import SynthSettings

# Ollama's sampling defaults, which llama-server (whose own defaults make small models loop
# inside strings) and vLLM take beside OpenAI's parameters.
_OLLAMA_SAMPLING: dict[str, float | int] = {"top_k": 40, "top_p": 0.9, "min_p": 0.0, "repeat_penalty": 1.1}
# name -> (default base URL, extra sampling options, default model; "" is the first served)
OPENAI_COMPATIBLE: dict[str, tuple[str, dict[str, float | int], str]] = {
    "openai": ("https://api.openai.com/v1", {}, "gpt-4o-mini"),
    "openrouter": ("https://openrouter.ai/api/v1", {}, "openai/gpt-4o-mini"),
    "llamacpp": ("http://127.0.0.1:8080/v1", _OLLAMA_SAMPLING, ""),
    "lmstudio": ("http://127.0.0.1:1234/v1", {}, ""),
    "vllm": ("http://127.0.0.1:8000/v1", {"top_k": 40, "min_p": 0.0, "repetition_penalty": 1.1}, ""),
}
KNOWN = contract.string_in(pb.GenerationConfig, "provider")  # ollama and each of OPENAI_COMPATIBLE


def configured(settings: SynthSettings) -> list[str]:
    """The providers offered: SYNTH_PROVIDERS when set, else Ollama and each OpenAI-compatible
    server whose base URL or key is set."""
    if settings.providers.strip():
        names = [n.strip() for n in settings.providers.split(",") if n.strip()]
        unknown = [n for n in names if n not in KNOWN]
        if unknown:
            raise StartupError(f"SYNTH_PROVIDERS names {', '.join(unknown)}; known: {', '.join(KNOWN)}")
        return names
    return ["ollama", *(n for n in OPENAI_COMPATIBLE if _url(settings, n) or _key(settings, n))]


def providers(settings: SynthSettings) -> dict[str, Provider]:
    made: dict[str, Provider] = {}
    for name in configured(settings):
        if name == "ollama":
            made[name] = OllamaProvider(settings.ollama_host, settings.call_timeout_seconds, settings.default_model)
            continue
        url, extra, model = OPENAI_COMPATIBLE[name]
        endpoint = Endpoint(name, _url(settings, name) or url, _key(settings, name), extra, model)
        made[name] = OpenAIProvider(endpoint, settings.call_timeout_seconds)
    return made


def _url(settings: SynthSettings, name: str) -> str:
    return str(getattr(settings, f"{name}_base_url"))


def _key(settings: SynthSettings, name: str) -> str:
    return str(getattr(settings, f"{name}_api_key"))
