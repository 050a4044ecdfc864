"""Service configuration: environment variables with the ``SENTIMENT_`` prefix (CLI flags of
`sentiment serve` are turned into these), validated by pydantic-settings.

Every field is listed, with its default, in docs/service.md.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.core.cores import CPU_CHUNK, cpu_cores
from service.core.manifest import DEFAULT_MODEL_DIR

MAX_AUTO_WORKERS = 4  # measured on 2 cores only; each worker holds its own model copy (~480 MB RSS on the CPU)
NVIDIA_DEVICE = Path("/dev/nvidiactl")  # present where an NVIDIA driver is loaded (stdlib check: no torch import here)


def auto_workers(device: str, cores: int | None = None, nvidia: Path = NVIDIA_DEVICE) -> int:
    """Workers for ``workers=0``: one per CPU core (capped) on the CPU, one on a GPU.

    On the CPU a single-text request costs more event-loop time than model time, so one worker's event loop is
    the limit long before the model is: on the 2-core machine 2 workers answered 2,747 single-text req/s against
    2,307-2,384 for 1 worker, with the same 64-text throughput (round 4 in loadtests/bench/NOTES.md). On a GPU
    every worker would hold its own CUDA context and batch queue on the same device, so one worker batches best;
    `--workers N` overrides.
    """
    on_gpu = device.startswith("cuda") or (device == "auto" and nvidia.exists())
    if on_gpu:
        return 1
    return max(1, min(MAX_AUTO_WORKERS, cores or cpu_cores()))


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SENTIMENT_", extra="ignore")

    model_dir: Path = Field(DEFAULT_MODEL_DIR, description="directory with model.pt, vocab.json, manifest.json")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$", description="auto | cpu | cuda | cuda:N")
    precision: str = Field(
        "fp32",
        pattern=r"^(fp32|int8)$",
        description="model weights: fp32 | int8 (CPU only, ~1.7x faster, scores move <= ~0.01 with batch contents)",
    )
    host: str = Field("127.0.0.1", description="bind address (0.0.0.0 only when asked, e.g. in a container)")
    port: int = Field(3000, ge=1, le=65535, description="port to listen on")
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="server worker processes, each with its own event loop and batch queue "
        f"(0 = one per CPU core, at most {MAX_AUTO_WORKERS}; 1 on a GPU)",
    )
    model_threads: int = Field(
        0,
        ge=0,
        le=64,
        description="model calls a worker runs at once (merged batches in parallel; 0 = one per CPU core, >= 1)",
    )
    threads: int = Field(
        0, ge=0, description="torch intra-op threads per model call (0 = CPU cores / (workers x model calls), >= 1)"
    )
    batching: bool = Field(True, description="adaptive batching of concurrent /predict requests")
    max_batch_size: int = Field(256, ge=1, description="texts per model batch (the batcher merges requests up to it)")
    max_latency_ms: int = Field(2000, ge=10, description="batcher latency budget; requests it would miss get 429")
    max_batch_wait_ms: float = Field(
        5.0,
        ge=0,
        description="longest wait of the adaptive batcher to fill a batch while the model is idle",
    )
    cpu_chunk: int = Field(
        CPU_CHUNK,
        ge=1,
        description="texts per model forward call on a CPU (a batch is cut into length-sorted chunks of this size)",
    )
    max_texts: int = Field(256, ge=1, description="texts per /predict request")
    max_text_chars: int = Field(2000, ge=1, description="characters (code points) per text")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="request body limit, checked before parsing")
    max_concurrency: int = Field(256, ge=1, description="API requests in flight (all workers); more get 429")
    timeout_s: int = Field(30, ge=1, description="request timeout in seconds (504 past it)")
    api_key: SecretStr | None = Field(None, description="when set, API requests need 'Authorization: Bearer <key>'")
    access_log: bool = Field(True, description="one JSON access-log line per request on stderr")
    trace_sample: float = Field(
        0.05,
        ge=0,
        le=1,
        description="share of /predict and V2 inference requests traced (OpenTelemetry spans, exported over OTLP/HTTP "
        "when OTEL_EXPORTER_OTLP_ENDPOINT is set); a sampled incoming traceparent is always followed",
    )
    explain_max_tokens: int = Field(64, ge=1, description="tokens occluded by /explain (the model reads at most 64)")

    @model_validator(mode="after")
    def _check(self) -> ServiceSettings:
        if self.api_key is not None and not self.api_key.get_secret_value().strip():
            raise ValueError("api_key is empty; unset SENTIMENT_API_KEY to disable authentication")
        if self.workers == 0:  # resolved once here, before the model calls that depend on it
            self.workers = auto_workers(self.device)
        if self.model_threads == 0:  # resolved once here: every reader (BentoML, the batcher, /model) sees the number
            # every worker may use every core: the kernel does not spread connections evenly over the workers (a
            # few clients often all land on one), and one call per core there keeps them all busy
            self.model_threads = cpu_cores()
        return self

    @property
    def intra_op_threads(self) -> int:
        """Torch intra-op threads per model call: `threads`, else the cores split over workers x model calls, at
        least 1 (on 2 cores with the defaults: 2 workers of 2 model calls of 1 thread each; two independent calls
        do more work than one call with two threads, docs/benchmarks.md)."""
        if self.threads:
            return self.threads
        return max(1, cpu_cores() // (self.workers * self.model_threads))

    @property
    def max_concurrency_per_worker(self) -> int:
        return -(-self.max_concurrency // self.workers)


def load_settings() -> ServiceSettings:
    return ServiceSettings()
