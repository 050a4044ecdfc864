"""The BentoML service: the model it loads and serves, and ``POST /explain``; ``POST /predict`` runs its model step.

Run it with ``sentiment serve`` (or ``bentoml serve service.api.app:TweetSentiment``); settings come from
``SENTIMENT_*`` environment variables (service/api/settings.py). See docs/service.md, and docs/protocols.md for the
``/v2`` routes.

The route of one ``POST /predict``, in order. It has one handler, ``ServiceMiddleware._predict_route``
(middleware.py), whose body is these steps; each answer names them, in this order, in its ``Server-Timing``
header (service/api/steps.py; tests/service/api/test_route.py checks it on a real server):

1. ``dispatch``: ``ServiceMiddleware.__call__`` (middleware.py): the request id, the route chosen by path;
2. ``admit``: method 405, API key 401, content type 415 (guard.py);
3. ``limit``: the per-worker concurrency limit 429 (``_in_flight``, middleware.py);
4. ``read``: the body, within the size limit 413 (guard.py);
5. ``parse``: the body parsed and checked, once: 400 with the field named (validation.py);
6. ``queue``: the adaptive batcher merges concurrent requests (batching.py; BentoML's algorithm through
   bentoml_adapter.py); 429 when it predicts a miss of ``max_latency_ms``;
7. ``model``: ``TweetSentiment.predict_batch`` below, in a worker thread: encode, forward, rows
   (service/core/predictor.py), prediction metrics (monitoring.py); it reaches the middleware through
   ``ServiceState`` (state.py) once the model is loaded;
8. ``answer``: the rows as JSON, in one message (asgi.py);

then the JSON access-log line (logs.py) and, for a sampled request, the trace span (tracing.py).
``POST /v2/models/{name}/infer`` takes the same steps (v2.py reads and shapes its V2 body).

``POST /explain`` is checked by the middleware (steps 1-5, validation.py), then handled by
``TweetSentiment.explain`` below through BentoML. ``GET /model``, ``GET /docs.json`` (openapi.py: BentoML's
document plus the ``/predict`` operation and what the middleware adds), the ``/v2`` GET routes (v2.py) and the
pages (pages.py) are answered by the middleware; health and metrics by BentoML.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Annotated, Any

import bentoml
from pydantic import Field, StringConstraints

from service.api.bento_model import bento_model_dir
from service.api.heap import freeze_heap
from service.api.logs import service_log, setup_json_logging
from service.api.middleware import ServiceMiddleware, middleware_options
from service.api.openapi import EXAMPLE_TEXTS
from service.api.settings import load_settings
from service.api.state import ServiceState
from service.api.validation import TEXT_PATTERN
from service.core.schemas import Explanation

# torch, the model code and numpy are imported in the worker (TweetSentiment.__init__), not here: this module
# is also imported by `sentiment serve`'s supervisor process, which needs only the service definition.

settings = load_settings()
model_dir = bento_model_dir() or settings.model_dir  # the Bento's own model when served from one (bento_model.py)
STATE = ServiceState()  # this worker's: filled by TweetSentiment once its model is ready, read by the ASGI layer

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
    threads=settings.model_threads,  # BentoML's handler threads (/explain)
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

    def predict_batch(self, texts: list[str]) -> list[dict[str, Any]]:
        """One model batch -> one ``{"label", "scores"}`` per text, in order: the ``model`` step of ``/predict``
        and of the V2 inference, called by the batcher (service/api/batching.py) in a worker thread."""
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
