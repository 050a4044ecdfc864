"""The lean /predict hot path (service/api/fastpath.py) against BentoML's own handler, on real servers."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from service.api.fastpath import FastPredict
from tests.conftest import running_server
from tests.service.api.test_app import make_texts

ARGS = ("--max-batch-size", "64", "--max-texts", "64", "--max-latency-ms", "60000")


@pytest.fixture(scope="module")
def fast_url(tiny_model: Path):
    with running_server(tiny_model, *ARGS) as url:
        yield url


@pytest.fixture(scope="module")
def bentoml_url(tiny_model: Path):
    with running_server(tiny_model, *ARGS, "--no-fast-path") as url:
        yield url


def predict(url: str, texts: list[str]) -> httpx.Response:
    return httpx.post(f"{url}/predict", json={"texts": texts}, timeout=60)


def batches_seen(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    m = re.search(r"^sentiment_batch_size_count(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_both_paths_give_identical_answers(fast_url: str, bentoml_url: str):
    texts = make_texts(40, seed=5)
    fast, slow = predict(fast_url, texts), predict(bentoml_url, texts)
    assert fast.status_code == slow.status_code == 200
    assert fast.headers["x-predict-path"] == "fast" and "x-predict-path" not in slow.headers
    assert fast.headers["content-type"] == "application/json" and fast.headers["x-request-id"]
    assert fast.json() == slow.json()
    assert len(fast.json()) == 40
    for t, row in zip(texts[:5], fast.json(), strict=False):  # alone = in a batch (fp32 is batch-independent)
        assert predict(fast_url, [t]).json() == [row]
    info = httpx.get(f"{bentoml_url}/model", timeout=30).json()
    assert info["batching"]["fast_path"] is False


def test_fast_path_merges_concurrent_requests_and_keeps_the_batch_contract(fast_url: str):
    """200 single-text requests from 32 threads: each gets its own answer, and BentoML's batcher merged some of
    them (fewer model batches than requests)."""
    texts = make_texts(200, seed=9)
    expected = {t: predict(fast_url, [t]).json()[0] for t in texts[:20]}
    before = batches_seen(fast_url)
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda t: (t, predict(fast_url, [t])), texts))
    batches = batches_seen(fast_url) - before
    for t, r in answers:
        assert r.status_code == 200 and len(r.json()) == 1
        if t in expected:
            assert r.json()[0] == expected[t]
    assert 0 < batches < len(texts)


def test_fast_path_still_validates_and_authenticates(fast_url: str):
    r = httpx.post(f"{fast_url}/predict", content=b'{"texts": ["ok", 3]}', timeout=30)
    assert r.status_code == 400 and r.json()["field"] == "texts[1]"
    assert "x-predict-path" not in r.headers


def test_int8_precision_is_served_when_asked(tiny_model: Path):
    record = json.loads((tiny_model / "model-int8.json").read_text())  # `sentiment train` builds it after export
    texts = make_texts(60, seed=3)
    with running_server(tiny_model, *ARGS, "--precision", "int8") as url:
        info = httpx.get(f"{url}/model", timeout=30).json()
        rows = predict(url, texts).json()
    assert info["precision"] == "int8" and info["sha256"] == record["sha256"]
    assert len(rows) == 60
    for row in rows:
        assert abs(sum(row["scores"].values()) - 1) < 1e-4
        assert row["label"] == max(row["scores"], key=row["scores"].__getitem__)


def test_discover_needs_bentoml_internals():
    class App:
        routes = ()

    assert FastPredict.discover(App()) is None
    assert FastPredict.discover(None) is None


class _Factory:
    """The two attributes of BentoML's ServiceAppFactory that FastPredict uses, around a real CorkDispatcher."""

    def __init__(self) -> None:
        from bentoml._internal.marshal.dispatcher import CorkDispatcher

        def fallback():
            raise RuntimeError("shed")

        self.dispatchers = {"predict": CorkDispatcher(2000, 64, fallback=fallback, get_batch_size=len)}

    async def _to_thread(self, fn, *args):
        return fn(*args)


def test_batcher_wait_is_capped_and_batches_are_split_back():
    """BentoML's own dispatcher: an adaptive wait left high by a burst is capped before a request is queued, and
    each request gets exactly its own rows back."""
    import asyncio

    def predict_batch(texts: list[str]) -> list[dict]:
        return [{"label": t, "scores": {}} for t in texts]

    async def run() -> tuple[list, float]:
        factory = _Factory()
        fast = FastPredict(factory, predict_batch, max_wait_s=0.005)
        factory.dispatchers["predict"].optimizer.wait = 0.8  # as after a burst of concurrent traffic
        answers = await asyncio.gather(*(fast([f"{i}a", f"{i}b"]) for i in range(10)))
        return answers, factory.dispatchers["predict"].optimizer.wait

    answers, wait = asyncio.run(run())
    assert wait <= 0.005
    assert answers == [[{"label": f"{i}a", "scores": {}}, {"label": f"{i}b", "scores": {}}] for i in range(10)]
