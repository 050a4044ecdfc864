"""Every BentoML internal the service uses, in one place (the pin is ``bentoml==1.4.39``).

tests/service/api/test_bentoml_adapter.py fails loudly when the pinned library changes any of them:

* ``bentoml._internal.marshal.dispatcher.CorkDispatcher``: BentoML's adaptive batcher (the algorithm behind
  ``@bentoml.api(batchable=True)``). ``/predict`` and the V2 inference have no BentoML handler: their batcher
  (service/api/batching.py) is an instance of it with the service's batching settings. Measured reason for
  answering them in the ASGI layer: docs/benchmarks.md (BentoML's generic request handling costs more CPU than
  the model on single texts).
* ``NonBlockSema`` (same module): how many merged batches the dispatcher runs at once (BentoML's own: 1). More than
  one lets a worker run several model calls in parallel, one per core.
* ``Optimizer.wait``: the dispatcher waits up to the mean wait of recent batches to fill the next one; after a burst
  that stays at tens of ms for minutes (measured ~45 ms for a ~3 ms forward), so it is capped.
* ``BentoMLContainer.prometheus_multiproc_dir``: BentoML wipes ``~/bentoml/prometheus_multiproc_dir`` when a server
  starts; each `sentiment serve` gets its own directory so two servers on one host keep their counters.
* ``bentoml._internal.server``'s ``static_content`` folder: the Swagger UI files the wheel ships (BentoML's own docs
  page around them loads Google Tag Manager); the API docs page (service/api/pages.py) serves them itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bentoml.exceptions import ServiceUnavailable

PINNED_VERSION = "1.4.39"


class Shed(Exception):
    """The batcher refused a request: it predicts the request would miss ``max_latency_ms``."""


def _fallback() -> Any:
    raise ServiceUnavailable("process is overloaded")


class Batcher:
    """BentoML's adaptive batcher around `infer` (merged inputs -> one output per input), with at most `concurrency`
    merged batches in flight. Calling it with one request's input returns that request's output."""

    def __init__(
        self,
        infer: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]],
        *,
        max_batch_size: int,
        max_latency_ms: int,
        concurrency: int = 1,
    ) -> None:
        from bentoml._internal.marshal.dispatcher import CorkDispatcher, NonBlockSema

        self._dispatcher = CorkDispatcher(
            max_latency_in_ms=max_latency_ms,
            max_batch_size=max_batch_size,
            shared_sema=NonBlockSema(concurrency),
            fallback=_fallback,
            get_batch_size=len,
        )
        self._call = self._dispatcher(infer)

    @property
    def wait(self) -> float:
        """Seconds the batcher currently waits to fill a batch while the model is idle (adapted to traffic)."""
        return float(self._dispatcher.optimizer.wait)

    @wait.setter
    def wait(self, seconds: float) -> None:
        self._dispatcher.optimizer.wait = seconds

    def cap_wait(self, seconds: float) -> None:
        """Bound the time the batcher waits to fill a batch while the model is idle."""
        if self.wait > seconds:
            self.wait = seconds

    async def __call__(self, data: Any) -> Any:
        try:
            return await self._call(data)
        except ServiceUnavailable as e:  # raised by the fallback when the dispatcher sheds the request
            raise Shed(str(e)) from e


def use_prometheus_dir(path: str) -> None:
    """Keep this server's multi-process metrics in `path` (BentoML wipes its default directory on start)."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    BentoMLContainer.prometheus_multiproc_dir.set(path)


SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")  # what the API docs page uses of the folder


def swagger_ui_dir() -> Path:
    """The folder of Swagger UI's files inside the installed bentoml wheel (no CDN, nothing downloaded)."""
    from bentoml._internal import server

    return Path(server.__file__).parent / "static_content"
