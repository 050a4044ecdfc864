"""Service configuration: environment variables with the ``SENTIMENT_`` prefix (CLI flags of
`sentiment serve` are turned into these), validated by pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.artifact import DEFAULT_MODEL_DIR


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SENTIMENT_", extra="ignore")

    model_dir: Path = Field(DEFAULT_MODEL_DIR, description="directory with model.pt, vocab.json, manifest.json")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    host: str = Field("127.0.0.1", description="bind address (0.0.0.0 only when asked, e.g. in a container)")
    port: int = Field(3000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="server worker processes, each with its own batch queue")
    threads: int = Field(0, ge=0, description="torch intra-op threads per worker (0 = cores / workers)")
    batching: bool = Field(True, description="adaptive batching of concurrent /predict requests")
    max_batch_size: int = Field(256, ge=2, description="texts per model batch")
    max_latency_ms: int = Field(2000, ge=10, description="batcher latency budget; it answers 503 past it")
    max_texts: int = Field(256, ge=1, description="texts per /predict request")
    max_text_chars: int = Field(2000, ge=1, description="characters per text")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="request body limit, checked before parsing")
    max_concurrency: int = Field(256, ge=1, description="requests in flight per service; more get 429")
    timeout_s: int = Field(30, ge=1, description="request timeout")
    api_key: SecretStr | None = Field(None, description="when set, requests need 'Authorization: Bearer <key>'")
    access_log: bool = Field(False, description="BentoML's own access log (costly per request)")


def load_settings() -> ServiceSettings:
    return ServiceSettings()
