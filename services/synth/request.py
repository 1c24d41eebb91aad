"""Turns a generation request into a Job, with defaults and a 400 for every bad input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from parley.synth.v1 import synth_service_pb2 as pb
from services.common import contract
from services.common.errors import InvalidArgument
from services.common.values import struct_to_python
from services.synth.diversity import Spread, spread
from services.synth.schema import Plan, plan
from services.synth.settings import SynthSettings

DEFAULT_TEMPERATURE = 0.8
DEFAULT_RETRIES = 3
MAX_PROMPT_CHARS = contract.max_len(pb.Payload, "prompt")
MAX_TOKENS = contract.int_range(pb.GenerationConfig, "max_tokens")[1]
MAX_TEMPERATURE = contract.number_range(pb.GenerationConfig, "temperature")[1]
UNARY_PATH, STREAM_PATH = "POST /api/v1/synthetic-data", "POST /api/v1/synthetic-data:stream"
_MODEL = contract.pattern(pb.GenerationConfig, "model")
_PROMPT = contract.pattern(pb.Payload, "prompt")


@dataclass(frozen=True)
class Job:
    prompt: str
    count: int
    plan: Plan
    provider: str
    model: str  # "": the provider's default, resolved before generating
    temperature: float
    seed: int | None
    max_retries: int
    max_tokens: int | None = None
    spread: Spread = field(default_factory=Spread)


def build_job(payload: pb.Payload | pb.StreamPayload, config: pb.GenerationConfig, settings: SynthSettings, *,
              streaming: bool, providers: Sequence[str]) -> Job:
    _check_stream(config, streaming)
    max_count = settings.max_stream_count if streaming else settings.max_count
    prompt = payload.prompt.strip()
    if not _PROMPT.search(payload.prompt):  # nothing but spaces is no prompt
        raise InvalidArgument("payload.prompt is required")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidArgument(f"payload.prompt must be at most {MAX_PROMPT_CHARS} characters")
    count = payload.count if payload.HasField("count") else 1
    if not 1 <= count <= max_count:
        raise InvalidArgument(f"payload.count must be between 1 and {max_count}")
    the_plan = plan(struct_to_python(payload.schema) if payload.HasField("schema") else None)
    _check_bounds(count, the_plan)
    seed = config.seed if config.HasField("seed") else None
    return Job(
        prompt=prompt,
        count=count,
        plan=the_plan,
        provider=_provider(config.provider, providers),
        model=_model(config.model) if config.model else "",
        temperature=_temperature(config),
        seed=seed,
        max_retries=_retries(config, settings.max_retries_limit),
        max_tokens=_max_tokens(config),
        spread=spread(the_plan.record_schema, config.spread if config.HasField("spread") else True,
                      config.free_fields, config.personas, seed),
    )


def _check_stream(config: pb.GenerationConfig, streaming: bool) -> None:
    request = pb.StreamSyntheticDataRequest if streaming else pb.GenerateSyntheticDataRequest
    fixed = contract.fixed_bools(request, "config")["stream"]
    if config.HasField("stream") and config.stream != fixed:
        raise InvalidArgument(
            f"config.stream is true: streamed records come from {STREAM_PATH}" if config.stream
            else f"config.stream is false: a single answer comes from {UNARY_PATH}")


def _check_bounds(count: int, the_plan: Plan) -> None:
    too_many = the_plan.max_items is not None and count > the_plan.max_items
    if count < the_plan.min_items or too_many:
        bounds = f"{the_plan.min_items}..{the_plan.max_items if the_plan.max_items is not None else ''}"
        raise InvalidArgument(f"payload.count {count} is outside the schema's minItems..maxItems ({bounds})")


def _provider(name: str, providers: Sequence[str]) -> str:
    name = name or "ollama"
    if name not in providers:
        shown = name if len(name) <= 100 else name[:100] + "..."
        raise InvalidArgument(f"config.provider '{shown}' is not supported; supported: {', '.join(providers)}")
    return name


def _model(name: str) -> str:
    if not _MODEL.match(name):
        raise InvalidArgument("config.model is not a model name (e.g. gemma3:4b)")
    return name


def _temperature(config: pb.GenerationConfig) -> float:
    value = config.temperature if config.HasField("temperature") else DEFAULT_TEMPERATURE
    if not 0.0 <= value <= MAX_TEMPERATURE:
        raise InvalidArgument(f"config.temperature must be between 0 and {MAX_TEMPERATURE:g}")
    return value


def _max_tokens(config: pb.GenerationConfig) -> int | None:
    if not config.HasField("max_tokens"):
        return None
    if not 1 <= config.max_tokens <= MAX_TOKENS:
        raise InvalidArgument(f"config.max_tokens must be between 1 and {MAX_TOKENS}")
    return config.max_tokens


def _retries(config: pb.GenerationConfig, limit: int) -> int:
    value = config.max_retries if config.HasField("max_retries") else DEFAULT_RETRIES
    if not 0 <= value <= limit:
        raise InvalidArgument(f"config.max_retries must be between 0 and {limit}")
    return value
