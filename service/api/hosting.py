"""The public face of the HTTP layer, for a BentoML service other than `TweetSentiment` that must run behind the
same ``/predict`` route (the bench's no-op twin, loadtests/bench/noop_service.py): it imports this module only,
never the middleware, the state or the validation internals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import StringConstraints

from service.api.middleware import ServiceMiddleware, middleware_options
from service.api.settings import ServiceSettings
from service.api.state import ServiceState
from service.api.validation import TEXT_PATTERN

Row = dict[str, Any]


def text_type(settings: ServiceSettings) -> Any:
    """What the service accepts as one text: 1..max_text_chars characters, not all whitespace, no NUL."""
    return Annotated[str, StringConstraints(min_length=1, max_length=settings.max_text_chars, pattern=TEXT_PATTERN)]


def predict_api_options(settings: ServiceSettings) -> dict[str, Any]:
    """`@bentoml.api` keywords of ``/predict`` (adaptive batching), as the real service sets them."""
    return {
        "batchable": settings.batching,
        "max_batch_size": settings.max_batch_size,
        "max_latency_ms": settings.max_latency_ms,
    }


class HttpLayer:
    """The project's ASGI layer (checks, limits, JSON logs, the ``/predict`` route) attached to one service class."""

    def __init__(self, service_cls: Any, settings: ServiceSettings) -> None:
        self.state = ServiceState()
        service_cls.add_asgi_middleware(ServiceMiddleware, **middleware_options(settings, self.state))

    def model_ready(self, info: dict[str, Any], predict_batch: Callable[[list[str]], list[Row]]) -> None:
        """From the service instance once it can answer: ``GET /model`` gets `info`, the batcher `predict_batch`."""
        self.state.model_ready(info, None, predict_batch)
