"""The BentoML service: ``POST /predict`` with adaptive batching over the TorchScript model.

Run it with ``sentiment serve`` (or ``bentoml serve service.app:TweetSentiment``); settings come from
``SENTIMENT_*`` environment variables (see service/settings.py).
"""

from __future__ import annotations

import logging
from typing import Annotated

import bentoml
import torch
from pydantic import BaseModel, Field, StringConstraints

from service.artifact import load_artifact
from service.predictor import Predictor
from service.settings import load_settings

settings = load_settings()
log = logging.getLogger("sentiment.service")

EXAMPLE_TEXTS = [
    "I love this phone, best purchase ever :)",
    "Worst customer service I have ever had.",
    "The meeting is moved to 3pm on Tuesday.",
]

Text = Annotated[str, StringConstraints(min_length=1, max_length=settings.max_text_chars, pattern=r"\S")]


class Scores(BaseModel):
    negative: float
    neutral: float
    positive: float


class Prediction(BaseModel):
    label: str = Field(description="the most probable class", examples=["positive"])
    scores: Scores = Field(description="calibrated probabilities of the three classes (sum to 1)")


def _torch_threads() -> int:
    if settings.threads:
        return settings.threads
    return max(1, (torch.get_num_threads() or 1) // settings.workers)


@bentoml.service(
    name="tweet_sentiment",
    workers=settings.workers,
    traffic={"timeout": settings.timeout_s, "max_concurrency": settings.max_concurrency},
    resources={"gpu": 1} if torch.cuda.is_available() else {"cpu": str(settings.workers)},
)
class TweetSentiment:
    def __init__(self) -> None:
        torch.set_num_threads(_torch_threads())
        self.artifact = load_artifact(settings.model_dir, settings.device)
        self.predictor = Predictor(self.artifact, max_batch_size=settings.max_batch_size)
        self.predictor.predict(EXAMPLE_TEXTS)  # warm-up: /readyz turns 200 only after this
        self.ready = True
        log.info("model %s loaded on %s", self.artifact.manifest.version, self.artifact.device)

    def __is_ready__(self) -> bool:
        return getattr(self, "ready", False)

    @bentoml.api(
        batchable=settings.batching,
        max_batch_size=settings.max_batch_size,
        max_latency_ms=settings.max_latency_ms,
    )
    def predict(
        self,
        texts: Annotated[list[Text], Field(min_length=1, max_length=settings.max_texts, examples=[EXAMPLE_TEXTS])],
    ) -> list[Prediction]:
        """Classify tweets: one {label, scores} per text, in input order."""
        preds = self.predictor.predict(texts)
        if len(preds) != len(texts):
            raise RuntimeError(f"batch contract broken: {len(preds)} outputs for {len(texts)} inputs")
        return [Prediction(label=p.label, scores=Scores(**p.scores)) for p in preds]
