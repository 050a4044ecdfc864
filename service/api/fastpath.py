"""The lean ``/predict`` hot path: BentoML's own batcher and worker threads, without BentoML's per-request
HTTP layer.

py-spy profiles of the worker under load (docs/benchmarks.md) show that, once the model is fast enough, most of
the CPU of a single-text request goes to BentoML's generic request handling, not to the model: Starlette routing
and ``Request`` objects, pydantic parsing of the input model, ``APIMethod.__get__`` (``inspect.signature`` twice
per request), the output's JSON schema and a chunked ``IterableResponse``, and the context middleware.

`service.api.middleware.ServiceMiddleware` has already read and validated the body at that point, so for
``/predict`` it hands the texts to `FastPredict`, which

* enqueues them in **BentoML's own adaptive batcher** (the ``CorkDispatcher`` that BentoML created for the
  batchable ``predict`` API: same queue, same ``max_batch_size`` / ``max_latency_ms``, same 503 when a request
  would miss its latency budget), and
* runs each merged batch through ``TweetSentiment.predict_batch`` in **BentoML's worker-thread limiter**,

then writes the JSON answer in one ASGI message.

One setting of BentoML's batcher is bounded here: how long it waits to fill a batch while the model is idle.
The dispatcher waits up to ``optimizer.wait``, the mean wait of its recent batches, which a burst of concurrent
traffic raises to tens of ms and which then decays only slowly; afterwards every lone request waited that long
(measured: ~45 ms for a 64-text request whose forward takes ~3 ms, for minutes after an overload). ``max_wait_s``
(``SENTIMENT_MAX_BATCH_WAIT_MS``, default 5 ms) caps it before each request is queued. Under load batches still
fill while the model is busy with the previous one, so throughput does not change (docs/benchmarks.md).

The BentoML server, its supervisor, its middlewares around ours (metrics, timeout, concurrency) and its batching
stay in charge; only the request codec is ours.

`FastPredict.discover` finds the ``ServiceAppFactory`` behind BentoML's Starlette app (``scope["app"]``) through
the ``predict`` route. If BentoML's internals ever stop matching (the pin is ``bentoml==1.4.39``), discovery
returns None, a warning is logged once and every request takes BentoML's normal path: same answers, slower.
Turn it off with ``SENTIMENT_FAST_PATH=false``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Row = dict[str, Any]  # one prediction: {"label": str, "scores": {label: prob}}


class Overloaded(Exception):
    """BentoML's batcher refused the request: it would miss ``max_latency_ms``."""


class FastPredict:
    def __init__(
        self,
        factory: Any,
        predict_batch: Callable[[list[str]], list[Row]],
        api: str = "predict",
        max_wait_s: float = 0.005,
    ) -> None:
        self._predict_batch = predict_batch
        self.max_wait_s = max_wait_s
        self._to_thread = factory._to_thread  # BentoML's worker threads (anyio limiter, service `threads`)
        dispatcher = factory.dispatchers.get(api)  # absent when the API is not batchable (--no-batching)
        self._batched = dispatcher(self._infer) if dispatcher is not None else None
        self.batching = dispatcher is not None
        self._optimizer = getattr(dispatcher, "optimizer", None)  # holds the adaptive `wait` (seconds)

    @classmethod
    def discover(cls, app: Any, api: str = "predict", max_wait_s: float = 0.005) -> FastPredict | None:
        """The fast path for BentoML's Starlette ``app``, or None (not started yet, or internals differ)."""
        for route in getattr(app, "routes", ()):
            if getattr(route, "name", None) != api:
                continue
            factory = getattr(getattr(getattr(route, "endpoint", None), "func", None), "__self__", None)
            instance = getattr(factory, "_service_instance", None)
            predict_batch = getattr(instance, "predict_batch", None)
            if (
                predict_batch is None
                or not isinstance(getattr(factory, "dispatchers", None), dict)
                or not callable(getattr(factory, "_to_thread", None))
            ):
                return None
            return cls(factory, predict_batch, api, max_wait_s)
        return None

    async def _infer(self, batches: Sequence[list[str]]) -> list[list[Row] | Exception]:
        """One merged batch: the texts of several requests -> one model call -> one answer list per request."""
        flat = [text for texts in batches for text in texts]
        rows = await self._to_thread(self._predict_batch, flat)
        if len(rows) != len(flat):  # the batch contract BentoML does not check
            raise RuntimeError(f"batch contract broken: {len(rows)} outputs for {len(flat)} inputs")
        out: list[list[Row] | Exception] = []
        start = 0
        for texts in batches:
            out.append(rows[start : start + len(texts)])
            start += len(texts)
        return out

    async def __call__(self, texts: list[str]) -> list[Row]:
        if self._batched is None:
            return await self._to_thread(self._predict_batch, texts)
        opt = self._optimizer
        if opt is not None and getattr(opt, "wait", 0) > self.max_wait_s:
            opt.wait = self.max_wait_s
        try:
            rows = await self._batched(texts)
        except Exception as e:  # the dispatcher's fallback raises ServiceUnavailable (503) when it sheds a request
            if getattr(getattr(e, "error_code", None), "value", None) == 503:
                raise Overloaded(str(e)) from e
            raise
        if rows is None or len(rows) != len(texts):
            raise RuntimeError(f"batch contract broken: {0 if rows is None else len(rows)} outputs for {len(texts)}")
        return rows
