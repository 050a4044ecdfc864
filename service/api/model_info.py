"""``GET /model``: what is being served (name, version, sha256, metrics, device, batching)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from service.api.settings import ServiceSettings
    from service.core.artifact import Artifact


class ModelInfo(BaseModel):
    name: str
    version: str
    sha256: str = Field(description="sha256 of the weights file being served (model.pt, or model-int8.pt)")
    files: dict[str, str] = Field(description="sha256 of every file of the artifact")
    labels: list[str]
    tokenizer_version: str
    metrics: dict[str, Any] = Field(description="test/validation metrics recorded at export")
    created_at: str
    device: str
    precision: str = Field(description="weights in use: fp32 | int8 (SENTIMENT_PRECISION)")
    torch_threads: int
    batching: dict[str, Any]
    limits: dict[str, int] = Field(description="per request: max_texts, max_text_chars, max_body_bytes")
    loaded_at: str


def describe_device(artifact: Artifact) -> str:
    import torch

    if artifact.device.type == "cuda":
        return f"{artifact.device} ({torch.cuda.get_device_name(artifact.device)})"
    return str(artifact.device)


def model_info(artifact: Artifact, settings: ServiceSettings, torch_threads: int) -> dict[str, Any]:
    m = artifact.manifest
    return ModelInfo(
        name=m.name,
        version=m.version,
        sha256=artifact.weights_sha256,
        files=m.files,
        labels=m.labels,
        tokenizer_version=m.tokenizer_version,
        metrics=m.metrics,
        created_at=m.created_at,
        device=describe_device(artifact),
        precision=artifact.precision,
        torch_threads=torch_threads,
        batching={
            "enabled": settings.batching,
            "max_batch_size": settings.max_batch_size,
            "max_latency_ms": settings.max_latency_ms,
            "workers": settings.workers,
            "model_threads": settings.model_threads,
            "max_batch_wait_ms": settings.max_batch_wait_ms,
        },
        limits={
            "max_texts": settings.max_texts,
            "max_text_chars": settings.max_text_chars,
            "max_body_bytes": settings.max_body_bytes,
        },
        loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
    ).model_dump()
