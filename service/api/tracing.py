"""Sampled OpenTelemetry spans for the inference requests (``POST /predict``, ``POST /v2/models/.../infer``).

BentoML's own per-request tracing stays off for these routes (app.py: a span per request cost more than the
request); this module makes one span for a *sampled* request only, and decides before it creates anything:

* a request without a valid W3C ``traceparent`` is a root: sampled with probability ``SENTIMENT_TRACE_SAMPLE``
  (one ``random()`` call; none at 0);
* a request with one follows its parent's sampled flag (the parent-based rule, at any ratio, 0 included):
  sampled parents get a child span in the caller's trace, unsampled ones nothing.

The tracer provider's sampler is ``ParentBased(ALWAYS_ON)``: the ratio was applied above, once.

The span carries counts and timings only, never the texts (users' content): ``sentiment.text_count``,
``sentiment.batch_size`` (texts in the merged model batch), ``sentiment.queue_wait_ms``, ``sentiment.model_ms``,
the route, the status and the request id. Spans are exported over OTLP/HTTP (protobuf) by a background batch
processor when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; without an
endpoint there is nothing to export to and no span is made. The other ``OTEL_*`` variables (service name, headers,
batch delay) work as the OpenTelemetry SDK documents them.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from service.api.asgi import Scope, header

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
ROOT = Context()  # a sampled request without a (valid) parent: a new trace


class Tracing:
    """One per worker. `decide` per request (cheap); `record` only for the sampled ones. `enabled` defaults to
    whether an OTLP endpoint is configured."""

    def __init__(self, ratio: float, enabled: bool | None = None, draw: Callable[[], float] = random.random) -> None:
        self.ratio = ratio
        self.enabled = any(os.environ.get(v) for v in ENDPOINT_VARS) if enabled is None else enabled
        self._provider: Any = None  # created in the worker process, on the first sampled request
        self._tracer: Any = None
        self._propagator = TraceContextTextMapPropagator()
        self._random = draw  # uniform in [0, 1): the root's coin

    def decide(self, scope: Scope) -> Context | None:
        """The parent context of this request's span, or None when it is not sampled (nothing created)."""
        if not self.enabled:
            return None
        traceparent = header(scope, b"traceparent")
        if traceparent is not None:
            ctx = self._propagator.extract({"traceparent": traceparent.decode("latin-1")})
            parent = get_current_span(ctx).get_span_context()
            if parent.is_valid:
                return ctx if parent.trace_flags.sampled else None
        return ROOT if self.ratio >= 1 or self._random() < self.ratio else None

    def record(self, parent: Context, name: str, start_s: float, status: int, attributes: dict[str, Any]) -> str:
        """End a span of `name` begun at `start_s` (a `time.perf_counter` value); returns its trace id (hex)."""
        if self._tracer is None:
            self._provider = make_provider()
            self._tracer = self._provider.get_tracer("service.api")
        start_ns = time.time_ns() - int((time.perf_counter() - start_s) * 1e9)
        span = self._tracer.start_span(name, context=parent, kind=SpanKind.SERVER, start_time=start_ns)
        span.set_attributes({**attributes, "http.response.status_code": status})
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        return format(span.get_span_context().trace_id, "032x")

    def flush(self, timeout_ms: int = 10_000) -> bool:
        """Export the spans recorded so far (the batch processor otherwise sends them every OTEL_BSP_SCHEDULE_DELAY)."""
        return self._provider is None or self._provider.force_flush(timeout_ms)


def make_provider() -> Any:
    """A tracer provider of its own (not the global one BentoML configures), exporting over OTLP/HTTP in batches."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "tweet-sentiment")})
    provider = TracerProvider(sampler=ParentBased(ALWAYS_ON), resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
