"""The BentoML service: ``POST /predict`` (adaptive batching), ``POST /explain``, ``GET /model``.

Run it with ``sentiment serve`` (or ``bentoml serve service.api.app:TweetSentiment``); settings come from
``SENTIMENT_*`` environment variables (see service/api/settings.py). The ASGI layer in service/api/middleware.py
validates bodies, checks the API key and limits, adds request ids and writes JSON logs; the API functions
below only see valid input. See docs/service.md.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import bentoml
from bentoml.validators import ContentType
from pydantic import BaseModel, Field, StringConstraints

from service.api.middleware import STATE, ServiceMiddleware, middleware_options, setup_json_logging
from service.api.settings import load_settings
from service.api.validation import TEXT_PATTERN

if TYPE_CHECKING:
    import torch

# torch, the model code and numpy are imported in the worker (TweetSentiment.__init__), not here: this module
# is also imported by `sentiment serve`'s supervisor process, which needs only the service definition.

settings = load_settings()
log = logging.getLogger("sentiment.service")

EXAMPLE_TEXTS = [
    "I love this phone, best purchase ever :)",
    "Worst customer service I have ever had.",
    "The meeting is moved to 3pm on Tuesday.",
]
EXAMPLE_SCORES = {"negative": 0.021, "neutral": 0.113, "positive": 0.866}

# what service/api/validation.py accepts: 1..max_text_chars characters, not all whitespace, no NUL character
Text = Annotated[str, StringConstraints(min_length=1, max_length=settings.max_text_chars, pattern=TEXT_PATTERN)]


class Scores(BaseModel):
    negative: float = Field(ge=0, le=1)
    neutral: float = Field(ge=0, le=1)
    positive: float = Field(ge=0, le=1)


class Prediction(BaseModel):
    label: str = Field(description="the most probable class", examples=["positive"])
    scores: Scores = Field(
        description="calibrated probabilities of the three classes (sum to 1)", examples=[EXAMPLE_SCORES]
    )


class TokenAttribution(BaseModel):
    token: str = Field(description="a normalised token, as the model reads it", examples=["love"])
    attribution: float = Field(
        description="p(label | text) - p(label | text without this token): > 0 supports the label", examples=[0.31]
    )


class Explanation(BaseModel):
    label: str = Field(examples=["positive"])
    scores: Scores = Field(examples=[EXAMPLE_SCORES])
    method: str = Field("occlusion", description="how attributions are computed (leave one token out)")
    tokens: list[TokenAttribution] = Field(description="one entry per token, in text order")
    truncated: bool = Field(description="the text has more tokens than are explained (the rest are omitted)")


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
    loaded_at: str


def report_startup_error(e: Exception) -> None:
    """The model cannot be served: log it and, under `sentiment serve`, hand the message to the supervisor
    (SENTIMENT_STARTUP_ERROR_FILE) and stop it, instead of letting it restart the worker forever."""
    from service.core.manifest import ModelLoadError

    message = str(e) if isinstance(e, ModelLoadError) else f"{type(e).__name__}: {e}"
    log.error("", extra={"fields": {"event": "startup_failed", "error": message}})
    path = os.environ.get("SENTIMENT_STARTUP_ERROR_FILE")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.write(message)
        os.kill(os.getppid(), signal.SIGTERM)


def describe_device(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def openapi_extra() -> dict[str, Any]:
    """What /docs.json gets on top of BentoML's spec: GET /model and the middleware's error responses."""
    error = {"$ref": "#/components/schemas/ErrorResponse"}

    def resp(desc: str, example: str) -> dict[str, Any]:
        return {"description": desc, "content": {"application/json": {"schema": error, "example": {"error": example}}}}

    errors = {
        "400": resp("invalid body (field/index named)", f"texts[2]: text has 2345 characters, the limit is {2000}"),
        "401": resp("API key required", "missing or invalid API key: send 'Authorization: Bearer <key>'"),
        "405": resp("wrong method", "method GET is not allowed on /predict: use POST"),
        "413": resp("body too large", "request body is 2000000 bytes, the limit is 1048576 bytes"),
        "415": resp("wrong content type", "content type 'text/plain' is not supported: send application/json"),
        "429": resp("overloaded", "too many requests in flight (limit 256 per worker); retry shortly"),
    }
    model_schema = ModelInfo.model_json_schema(ref_template="#/components/schemas/{model}")
    return {
        "paths": {
            "/model": {
                "get": {
                    "tags": ["Service APIs"],
                    "operationId": "tweet_sentiment__model",
                    "description": "The served model: name, version, sha256, labels, metrics, device.",
                    "responses": {
                        "200": {
                            "description": "model metadata",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelInfo"}}},
                        },
                        "401": errors["401"],
                    },
                }
            }
        },
        "responses": {"/predict": errors, "/explain": errors},
        "body_required": ["/predict", "/explain"],
        "schemas": {
            "ModelInfo": model_schema,
            "ErrorResponse": {
                "type": "object",
                "properties": {
                    "error": {"type": "string"},
                    "field": {"type": "string", "description": "the offending field, e.g. texts[3]"},
                    "request_id": {"type": "string"},
                },
                "required": ["error"],
            },
        },
    }


@bentoml.service(
    name="tweet_sentiment",
    workers=settings.workers,
    traffic={"timeout": settings.timeout_s},  # concurrency is limited (429) by ServiceMiddleware
    logging={"access": {"enabled": False}},  # BentoML's text access log; ours is JSON (SENTIMENT_ACCESS_LOG)
    # an OpenTelemetry span per /predict call costs more than the request itself (docs/benchmarks.md);
    # tracing stays on for the other endpoints
    tracing={"excluded_urls": "/predict"},
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

        from service.api.monitoring import get_metrics
        from service.core.artifact import load_artifact
        from service.core.explain import explain as explain_text
        from service.core.manifest import ModelLoadError
        from service.core.predictor import InvalidScores, Predictor

        self.explain_text = explain_text
        torch.set_num_threads(settings.intra_op_threads)
        t1 = time.perf_counter()
        self.artifact = load_artifact(settings.model_dir, settings.device, precision=settings.precision)
        t2 = time.perf_counter()
        self.predictor = Predictor(self.artifact, max_batch_size=settings.max_batch_size, cpu_chunk=settings.cpu_chunk)
        self.metrics = get_metrics(tuple(self.artifact.labels))
        try:  # warm-up: TorchScript profiles and optimises on the first calls
            self.predictor.predict(EXAMPLE_TEXTS)
            self.predictor.predict(EXAMPLE_TEXTS[:1])
            explain_text(self.predictor, EXAMPLE_TEXTS[0])
        except InvalidScores as e:
            raise ModelLoadError(f"{settings.model_dir}: refusing to serve it: on the warm-up texts, {e}") from e
        t3 = time.perf_counter()
        m = self.artifact.manifest
        self.model_info = ModelInfo(
            name=m.name,
            version=m.version,
            sha256=self.artifact.weights_sha256,
            files=m.files,
            labels=m.labels,
            tokenizer_version=m.tokenizer_version,
            metrics=m.metrics,
            created_at=m.created_at,
            device=describe_device(self.artifact.device),
            precision=self.artifact.precision,
            torch_threads=torch.get_num_threads(),
            batching={
                "enabled": settings.batching,
                "max_batch_size": settings.max_batch_size,
                "max_latency_ms": settings.max_latency_ms,
                "workers": settings.workers,
                "fast_path": settings.fast_path,
                "max_batch_wait_ms": settings.max_batch_wait_ms,
            },
            loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ).model_dump()
        STATE["model_info"] = self.model_info
        STATE["metrics"] = self.metrics
        self.ready = True
        log.info(
            "",
            extra={
                "fields": {
                    "event": "model_loaded",
                    "model": f"{m.name}:{m.version}",
                    "device": self.model_info["device"],
                    "precision": self.artifact.precision,
                    "torch_threads": self.model_info["torch_threads"],
                    "import_s": round(t1 - t0, 3),
                    "load_s": round(t2 - t1, 3),
                    "warmup_s": round(t3 - t2, 3),
                }
            },
        )

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
    ) -> Annotated[list[Prediction], ContentType("application/json")]:
        """Classify tweets: one {label, scores} per text, in input order. Concurrent requests are merged into
        one model batch (sorted by length inside the batch to cut padding)."""
        rows = self.predict_batch(texts)
        # model_construct: the values come from the model, not the client (validation would double this line)
        return [
            Prediction.model_construct(label=r["label"], scores=Scores.model_construct(**r["scores"])) for r in rows
        ]

    def predict_batch(self, texts: list[str]) -> list[dict[str, Any]]:
        """One model batch -> one ``{"label", "scores"}`` per text, in order. Shared by the BentoML handler above
        and the lean hot path (service/api/fastpath.py), so both answer identically."""
        p = self.predictor
        encoded = p.encode(texts)
        probs = p.forward(encoded)  # (N, C)
        rows = p.to_rows(probs)
        if len(rows) != len(texts):  # BentoML would silently mis-assign outputs to requests
            raise RuntimeError(f"batch contract broken: {len(rows)} outputs for {len(texts)} inputs")
        self.metrics.observe_batch(texts, encoded, probs)
        return rows

    @bentoml.api
    def explain(
        self, text: Annotated[Text, Field(examples=["I love this phone, best purchase ever :)"])]
    ) -> Explanation:
        """Prediction plus per-token attributions (occlusion: leave one token out, one batched forward pass)."""
        e = self.explain_text(self.predictor, text, settings.explain_max_tokens)
        return Explanation(
            label=e.prediction.label,
            scores=Scores(**e.prediction.scores),
            tokens=[TokenAttribution(token=t, attribution=a) for t, a in zip(e.tokens, e.attributions, strict=True)],
            truncated=e.truncated,
        )


TweetSentiment.add_asgi_middleware(ServiceMiddleware, **middleware_options(settings), openapi_extra=openapi_extra())
