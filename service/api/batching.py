"""The ``queue`` and ``model`` steps of ``/predict`` and the V2 inference: BentoML's adaptive batching algorithm,
driven by the ASGI layer (service/api/middleware.py), without BentoML's per-request HTTP layer.

py-spy profiles of the worker under load (docs/benchmarks.md) show that, once the model is fast enough, most of
the CPU of a single-text request went to BentoML's generic request handling, not to the model: Starlette routing
and ``Request`` objects, pydantic parsing of the input model, ``APIMethod.__get__`` (``inspect.signature`` twice
per request), the output's JSON schema and a chunked ``IterableResponse``, and the context middleware. So
``/predict`` has no BentoML handler: the middleware reads and validates the body once and hands the texts to
`BatchedModel`, which

* queues them in its own instance of **BentoML's adaptive batcher** (`bentoml_adapter.Batcher`: the same
  ``CorkDispatcher`` algorithm, ``max_batch_size`` / ``max_latency_ms`` and shedding as ``@bentoml.api``; a shed
  request raises `Overloaded`, answered 429);
* runs each merged batch through ``TweetSentiment.predict_batch`` (service/api/app.py) in a thread, at most
  ``model_threads`` batches at once (each torch call with its own intra-op threads: several model calls run in
  parallel, one per core);
* returns each request its rows, with when its batch's model call began and how long it took (the request's
  ``Server-Timing`` steps and trace span).

One setting of the batcher is bounded here: how long it waits to fill a batch while the model is idle
(``SENTIMENT_MAX_BATCH_WAIT_MS``, default 5 ms; see `bentoml_adapter`). Under load batches still fill while the
model is busy with the previous one, so throughput does not change (docs/benchmarks.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio

from service.api.bentoml_adapter import Batcher, Shed
from service.api.state import Row
from service.core.predictor import check_batch_contract


class Overloaded(Exception):
    """The batcher refused the request: it would miss ``max_latency_ms``."""


@dataclass(slots=True)
class Answer:
    """One request's rows and how its model batch went (for the request's trace span)."""

    rows: list[Row]
    batch_size: int  # texts in the merged model batch
    started: float  # time.perf_counter() when the batch's model call began
    model_s: float  # the model call (thread hand-off included)


class BatchedModel:
    def __init__(
        self,
        predict_batch: Callable[[list[str]], list[Row]],
        *,
        batching: bool,
        max_batch_size: int,
        max_latency_ms: int,
        max_wait_s: float = 0.005,
        model_threads: int = 1,
    ) -> None:
        self._predict_batch = predict_batch
        self.max_wait_s = max_wait_s
        self._limiter = anyio.CapacityLimiter(model_threads)
        self.batching = batching
        self.batcher = (
            Batcher(
                self._infer, max_batch_size=max_batch_size, max_latency_ms=max_latency_ms, concurrency=model_threads
            )
            if batching
            else None
        )

    async def _run(self, texts: list[str]) -> tuple[list[Row], float, float]:
        """One model call in a thread -> (rows, when it began, seconds)."""
        t0 = time.perf_counter()
        rows = await anyio.to_thread.run_sync(self._predict_batch, texts, limiter=self._limiter)
        check_batch_contract(len(rows), len(texts), "predict_batch")
        return rows, t0, time.perf_counter() - t0

    async def _infer(self, batches: Sequence[list[str]]) -> list[list[tuple[Row, Answer]]]:
        """One merged batch: the texts of several requests -> one model call -> per request, one ``(row, how the
        batch went)`` per text. Per text, not one object per request: BentoML splits a request that does not fit
        the rest of a batch over two batches and joins the two parts' results as lists (a part's result that is
        not a list made the joining fail, and the request never got its answer)."""
        merged = [text for texts in batches for text in texts]
        rows, started, model_s = await self._run(merged)
        run = Answer([], len(merged), started, model_s)
        out: list[list[tuple[Row, Answer]]] = []
        start = 0
        for texts in batches:
            out.append([(row, run) for row in rows[start : start + len(texts)]])
            start += len(texts)
        return out

    async def __call__(self, texts: list[str]) -> Answer:
        if self.batcher is None:
            rows, started, model_s = await self._run(texts)
            return Answer(rows, len(texts), started, model_s)
        self.batcher.cap_wait(self.max_wait_s)
        try:
            tagged = await self.batcher(texts)
        except Shed as e:
            raise Overloaded(str(e)) from e
        check_batch_contract(len(tagged), len(texts), "adaptive batcher")
        run = tagged[-1][1]  # a request split over two batches is answered when the later one, with its tail, ends
        return Answer([row for row, _ in tagged], run.batch_size, run.started, run.model_s)
