"""The BentoML internals behind service/api/bentoml_adapter.py: this test fails loudly when the pinned library
changes any of them (the fast path and the metrics directory would otherwise break at run time)."""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import version

import pytest

from service.api.bentoml_adapter import PINNED_VERSION, Batcher, Shed


def test_the_installed_bentoml_is_the_pinned_one():
    assert version("bentoml") == PINNED_VERSION


def test_cork_dispatcher_signature_and_state_are_what_the_adapter_uses():
    from bentoml._internal.marshal.dispatcher import CorkDispatcher, NonBlockSema, Optimizer

    params = inspect.signature(CorkDispatcher.__init__).parameters
    assert {"max_latency_in_ms", "max_batch_size", "shared_sema", "fallback", "get_batch_size"} <= params.keys()
    assert "wait" in vars(Optimizer(1.0))
    sema = NonBlockSema(2)
    assert sema.acquire() and sema.acquire() and not sema.acquire()


def test_prometheus_dir_setting_exists():
    from bentoml._internal.configuration.containers import BentoMLContainer

    assert hasattr(BentoMLContainer.prometheus_multiproc_dir, "set")


def test_a_shed_request_raises_shed():
    """The dispatcher cancels a request it predicts will miss max_latency_ms: the adapter turns BentoML's fallback
    (ServiceUnavailable) into Shed."""

    async def slow(batches):
        await asyncio.sleep(0.05)
        return [[b] for b in batches]

    async def run() -> list:  # the first ~11 calls train the dispatcher's model of the latency, then it sheds
        batcher = Batcher(slow, max_batch_size=1, max_latency_ms=10)
        return await asyncio.gather(*(batcher(i) for i in range(30)), return_exceptions=True)

    results = asyncio.run(run())
    assert any(isinstance(r, Shed) for r in results), results
    assert all(isinstance(r, Shed) or r == [i] for i, r in enumerate(results))


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_bounds_the_batches_in_flight(concurrency: int):
    running = peak = 0

    async def infer(batches):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return list(batches)

    async def run() -> None:
        batcher = Batcher(infer, max_batch_size=1, max_latency_ms=10_000, concurrency=concurrency)
        await asyncio.gather(*(batcher(i) for i in range(12)))

    asyncio.run(run())
    assert peak == concurrency


def test_the_wheel_ships_the_swagger_ui_files_the_docs_page_serves():
    from service.api.bentoml_adapter import SWAGGER_FILES, swagger_ui_dir

    for name in SWAGGER_FILES:
        assert (swagger_ui_dir() / name).stat().st_size > 10_000, name
    assert b"SwaggerUIBundle" in (swagger_ui_dir() / "swagger-ui-bundle.js").read_bytes()
