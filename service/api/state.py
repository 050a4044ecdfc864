"""What the service instance hands the ASGI layer once its model is loaded, passed explicitly (one per worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]  # one prediction: {"label": str, "scores": {label: prob}}


@dataclass
class ServiceState:
    model_info: dict[str, Any] | None = None  # GET /model; None until the model is loaded and warmed up
    metrics: Any = None  # service.api.monitoring.PredictionMetrics
    predict_batch: Callable[[list[str]], list[Row]] | None = None  # one model batch -> one row per text

    def model_ready(
        self, model_info: dict[str, Any], metrics: Any, predict_batch: Callable[[list[str]], list[Row]]
    ) -> None:
        self.model_info, self.metrics, self.predict_batch = model_info, metrics, predict_batch

    @property
    def ready(self) -> bool:
        return self.model_info is not None
