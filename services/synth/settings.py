"""Settings of the synth service, from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from parley.synth.v1 import synth_service_pb2 as pb
from services.common import contract, ports
from services.common.settings import ServerSettings, split_csv


class SynthSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="SYNTH_", extra="ignore", populate_by_name=True)

    listen: str = f"127.0.0.1:{ports.SYNTH}"
    # Prometheus /metrics (host:port; port 0 picks one; empty: no metrics server).
    metrics_listen: str = f"127.0.0.1:{ports.SYNTH_METRICS}"
    # Comma-separated accepted Bearer tokens (bootstrap keys with the synth:generate scope). Never logged.
    api_tokens: str = Field("", repr=False)
    # Where the API keys live (the same database as ingest). Empty: only SYNTH_API_TOKENS work.
    database_url: str = Field("", repr=False, validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    ollama_host: str = Field(
        "http://127.0.0.1:11434", validation_alias=AliasChoices("OLLAMA_HOST", "ollama_host")
    )
    default_model: str = "gemma3:4b"
    # OpenAI-compatible servers (providers/catalog.py): each is offered to requests once its
    # base URL or key is set, or when SYNTH_PROVIDERS names it (which then lists them all).
    providers: str = ""
    openai_base_url: str = Field("", validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"))
    openai_api_key: str = Field("", repr=False, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"))
    openrouter_base_url: str = ""
    openrouter_api_key: str = Field("", repr=False, validation_alias=AliasChoices(
        "OPENROUTER_API_KEY", "SYNTH_OPENROUTER_API_KEY", "openrouter_api_key"))
    llamacpp_base_url: str = ""
    llamacpp_api_key: str = Field("", repr=False)
    lmstudio_base_url: str = ""
    lmstudio_api_key: str = Field("", repr=False)
    vllm_base_url: str = ""
    vllm_api_key: str = Field("", repr=False)
    # Calls in flight to Ollama from this process; match the server's OLLAMA_NUM_PARALLEL.
    ollama_concurrency: int = Field(4, ge=1, le=256)
    # One model call, retries not included.
    call_timeout_seconds: float = Field(120.0, gt=0)
    # Each at most the contract's own bound (proto/), which is also the default.
    max_count: int = Field(contract.int_range(pb.Payload, "count")[1], ge=1,
                           le=contract.int_range(pb.Payload, "count")[1])
    max_stream_count: int = Field(contract.int_range(pb.StreamPayload, "count")[1], ge=1,
                                  le=contract.int_range(pb.StreamPayload, "count")[1])
    max_retries_limit: int = Field(contract.int_range(pb.GenerationConfig, "max_retries")[1], ge=0,
                                   le=contract.int_range(pb.GenerationConfig, "max_retries")[1])
    max_request_bytes: int = Field(1024 * 1024, ge=1024)
    # How often readiness asks the default provider whether it answers.
    readiness_interval_seconds: float = Field(5.0, gt=0, le=300)
    # Requests in progress at once, waiting for a model slot included: the cap on
    # synth's queue. Beyond it, 503 with Retry-After.
    max_concurrent_rpcs: int = Field(64, ge=4, le=100_000)

    @property
    def api_token_list(self) -> list[str]:
        return split_csv(self.api_tokens)

    @model_validator(mode="after")
    def _tokens(self) -> SynthSettings:
        if self.api_tokens.strip() and not self.api_token_list:
            raise ValueError("SYNTH_API_TOKENS is set but holds no token (only commas or spaces)")
        return self
