"""The request path's own cost, with a no-op body instead of the model:

* ``NoopSentiment``: BentoML's generic handler in the project's service configuration (same decorator settings,
  input validation and output model as service/api/app.py);
* ``NoopFastSentiment``: the project's own ``/predict`` route (service/api/middleware.py: the ASGI layer and the
  adaptive batcher of service/api/batching.py, no BentoML handler), i.e. everything `sentiment serve` does per
  request except the model: the served path's ceiling.

``SENTIMENT_BATCHING=true bentoml serve loadtests.bench.noop_service:NoopSentiment --port 3002``
(`sentiment-lab bench` starts them with the same environment as `sentiment serve`).
"""

from __future__ import annotations

import os
from typing import Annotated

import bentoml
from bentoml.validators import ContentType
from pydantic import Field

from service.api.hosting import HttpLayer, predict_api_options, text_type
from service.api.settings import load_settings
from service.core.schemas import Prediction, Scores

settings = load_settings()
Text = text_type(settings)
Texts = Annotated[list[Text], Field(min_length=1, max_length=settings.max_texts)]  # type: ignore[valid-type]

# Declaring the output's media type spares BentoML a JSON-schema build per response (see docs/benchmarks.md);
# SENTIMENT_BENCH_PLAIN_OUTPUT=1 measures the service without it.
Output = list[Prediction]
if os.environ.get("SENTIMENT_BENCH_PLAIN_OUTPUT") != "1":
    Output = Annotated[list[Prediction], ContentType("application/json")]  # type: ignore[misc]

FIXED = Prediction(label="neutral", scores=Scores(negative=0.2, neutral=0.6, positive=0.2))


@bentoml.service(
    name="noop_sentiment",
    workers=settings.workers,
    traffic={"timeout": settings.timeout_s, "max_concurrency": settings.max_concurrency},
    resources={"cpu": str(settings.workers)},
    logging={"access": {"enabled": False}},  # as service/api/app.py
    tracing={"excluded_urls": "/predict"},
)
class NoopSentiment:
    ready = True

    def __is_ready__(self) -> bool:
        return True

    @bentoml.api(**predict_api_options(settings))
    def predict(self, texts: Texts) -> Output:
        return [FIXED] * len(texts)


FIXED_ROW = FIXED.model_dump()


@bentoml.service(
    name="noop_fast_sentiment",
    workers=settings.workers,
    traffic={"timeout": settings.timeout_s},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": "/predict"},
)
class NoopFastSentiment:
    def __init__(self) -> None:  # the middleware answers /predict once a model is "loaded", as for the service
        LAYER.model_ready({"name": "noop"}, self.predict_batch)

    def __is_ready__(self) -> bool:
        return True

    def predict_batch(self, texts: list[str]) -> list[dict]:
        return [FIXED_ROW] * len(texts)


LAYER = HttpLayer(NoopFastSentiment, settings)
