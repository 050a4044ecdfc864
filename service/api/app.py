"""The BentoML service: ``POST /predict`` (adaptive batching), ``POST /explain``; the model it loads.

Run it with ``sentiment serve`` (or ``bentoml serve service.api.app:TweetSentiment``); settings come from
``SENTIMENT_*`` environment variables (service/api/settings.py). The ASGI layer (service/api/middleware.py)
validates bodies, checks the API key and limits, adds request ids and writes JSON logs; the API functions
below only see valid input. See docs/service.md, and docs/protocols.md for the ``/v2`` routes.

The route of one ``POST /predict`` (and of one ``POST /v2/models/{name}/infer``), in order:

1. ``ServiceMiddleware.__call__`` (middleware.py): request id, dispatch by path;
2. ``_api`` / ``_v2_infer`` (middleware.py): method and API key (guard.py), content type, the concurrency limit,
   the body limit (guard.py), the body parsed and checked (validation.py / v2.py);
3. ``_predict`` (middleware.py): the trace decision (tracing.py), the adaptive batcher (fastpath.py, BentoML's
   algorithm through bentoml_adapter.py), which calls ``TweetSentiment.predict_batch`` below in a thread: the
   model and the prediction metrics (monitoring.py);
4. the JSON answer (asgi.py; v2.py shapes the V2 one), then the access-log line (logs.py) and the span.

``GET /model``, ``/docs.json`` (openapi.py) and the ``/v2`` GET routes are answered by the middleware too;
``POST /explain`` is validated there and handled by ``TweetSentiment.explain`` below.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Annotated, Any

import bentoml
from bentoml.validators import ContentType
from pydantic import Field, StringConstraints

from service.api.bento_model import bento_model_dir
from service.api.heap import freeze_heap
from service.api.logs import service_log, setup_json_logging
from service.api.middleware import ServiceMiddleware, middleware_options
from service.api.settings import load_settings
from service.api.state import ServiceState
from service.api.validation import TEXT_PATTERN
from service.core.schemas import Explanation, Prediction

# torch, the model code and numpy are imported in the worker (TweetSentiment.__init__), not here: this module
# is also imported by `sentiment serve`'s supervisor process, which needs only the service definition.

settings = load_settings()
model_dir = bento_model_dir() or settings.model_dir  # the Bento's own model when served from one (bento_model.py)
STATE = ServiceState()  # this worker's: filled by TweetSentiment once its model is ready, read by the ASGI layer

EXAMPLE_TEXTS = [
    "I love this phone, best purchase ever :)",
    "Worst customer service I have ever had.",
    "The meeting is moved to 3pm on Tuesday.",
]

# what service/api/validation.py accepts: 1..max_text_chars characters, not all whitespace, no NUL character
Text = Annotated[str, StringConstraints(min_length=1, max_length=settings.max_text_chars, pattern=TEXT_PATTERN)]


def report_startup_error(e: Exception) -> None:
    """The model cannot be served: log it and, under `sentiment serve`, hand the message to the supervisor
    (SENTIMENT_STARTUP_ERROR_FILE) and stop it, instead of letting it restart the worker forever."""
    from service.core.manifest import ModelLoadError

    message = str(e) if isinstance(e, ModelLoadError) else f"{type(e).__name__}: {e}"
    service_log.error("", extra={"fields": {"event": "startup_failed", "error": message}})
    path = os.environ.get("SENTIMENT_STARTUP_ERROR_FILE")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.write(message)
        os.kill(os.getppid(), signal.SIGTERM)


@bentoml.service(
    name="tweet_sentiment",
    workers=settings.workers,
    threads=settings.model_threads,  # BentoML's own handler (--no-fast-path): the same model parallelism
    traffic={"timeout": settings.timeout_s},  # concurrency is limited (429) by ServiceMiddleware
    logging={"access": {"enabled": False}},  # BentoML's text access log; ours is JSON (SENTIMENT_ACCESS_LOG)
    # BentoML's OpenTelemetry span per /predict call costs more than the request itself (docs/benchmarks.md): the
    # inference routes get the middleware's own sampled spans instead (service/api/tracing.py, SENTIMENT_TRACE_SAMPLE)
    tracing={"excluded_urls": "/predict,/v2"},
    **({"resources": {"gpu": 1}} if settings.device.startswith("cuda") else {}),
)
class TweetSentiment:
    def __init__(self) -> None:
        setup_json_logging()
        try:
            self._load()
        except Exception as e:
            report_startup_error(e)
            raise

    def _load(self) -> None:
        t0 = time.perf_counter()
        import torch

        from service.api.model_info import model_info
        from service.api.monitoring import get_metrics
        from service.core.artifact import load_artifact
        from service.core.explain import explain as explain_text
        from service.core.manifest import ModelLoadError
        from service.core.predictor import InvalidScores, Predictor

        self.explain_text = explain_text
        torch.set_num_threads(settings.intra_op_threads)
        t1 = time.perf_counter()
        self.artifact = load_artifact(model_dir, settings.device, precision=settings.precision)
        t2 = time.perf_counter()
        self.predictor = Predictor(self.artifact, max_batch_size=settings.max_batch_size, cpu_chunk=settings.cpu_chunk)
        self.metrics = get_metrics(tuple(self.artifact.labels))
        try:  # warm-up: TorchScript profiles and optimises on the first calls
            self.predictor.predict(EXAMPLE_TEXTS)
            self.predictor.predict(EXAMPLE_TEXTS[:1])
            explain_text(self.predictor, EXAMPLE_TEXTS[0])
        except InvalidScores as e:
            raise ModelLoadError(f"{model_dir}: refusing to serve it: on the warm-up texts, {e}") from e
        t3 = time.perf_counter()
        frozen = freeze_heap()  # after the warm-up: full GC pauses set the p99 otherwise (service/api/heap.py)
        info = model_info(self.artifact, settings, torch.get_num_threads())
        STATE.model_ready(info, self.metrics, self.predict_batch)
        m = self.artifact.manifest
        fields = {
            "event": "model_loaded",
            "model": f"{m.name}:{m.version}",
            "model_dir": str(model_dir),
            "device": info["device"],
            "precision": self.artifact.precision,
            "torch_threads": info["torch_threads"],
            "model_threads": settings.model_threads,
            "import_s": round(t1 - t0, 3),
            "load_s": round(t2 - t1, 3),
            "warmup_s": round(t3 - t2, 3),
            "gc_frozen_objects": frozen,
        }
        service_log.info("", extra={"fields": fields})

    def __is_ready__(self) -> bool:
        return STATE.ready

    @bentoml.api(
        batchable=settings.batching,
        max_batch_size=settings.max_batch_size,
        max_latency_ms=settings.max_latency_ms,
    )
    def predict(
        self,
        texts: Annotated[list[Text], Field(min_length=1, max_length=settings.max_texts, examples=[EXAMPLE_TEXTS])],
    ) -> Annotated[list[Prediction], ContentType("application/json")]:
        """Classify tweets: one {label, scores} per text, in input order. Concurrent requests are merged into
        one model batch (sorted by length inside the batch to cut padding)."""
        return [Prediction.from_row(r) for r in self.predict_batch(texts)]

    def predict_batch(self, texts: list[str]) -> list[dict[str, Any]]:
        """One model batch -> one ``{"label", "scores"}`` per text, in order. Shared by the BentoML handler above
        and the lean hot path (service/api/fastpath.py), so both answer identically."""
        p = self.predictor
        encoded = p.encode(texts)
        probs = p.forward(encoded)  # (N, C)
        rows = p.to_rows(probs)
        self.metrics.observe_batch(texts, encoded, probs)
        return rows

    @bentoml.api
    def explain(
        self, text: Annotated[Text, Field(examples=["I love this phone, best purchase ever :)"])]
    ) -> Explanation:
        """Prediction plus per-token attributions (occlusion: leave one token out, one batched forward pass)."""
        return self.explain_text(self.predictor, text, settings.explain_max_tokens)


TweetSentiment.add_asgi_middleware(ServiceMiddleware, **middleware_options(settings, STATE))
