"""The adaptive batcher of /predict (service/api/batching.py): on real servers, and driven directly."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from service.api.batching import BatchedModel
from tests.conftest import running_server
from tests.service.api.test_app import make_texts

ARGS = ("--max-batch-size", "64", "--max-texts", "64", "--max-latency-ms", "60000")


@pytest.fixture(scope="module")
def url(tiny_model: Path):
    with running_server(tiny_model, *ARGS) as url:
        yield url


def predict(url: str, texts: list[str]) -> httpx.Response:
    return httpx.post(f"{url}/predict", json={"texts": texts}, timeout=60)


def batches_seen(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    m = re.search(r"^sentiment_batch_size_count(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_a_text_gets_the_same_answer_alone_and_in_a_batch(url: str):
    texts = make_texts(40, seed=5)
    r = predict(url, texts)
    assert r.status_code == 200 and len(r.json()) == 40
    assert r.headers["content-type"] == "application/json" and r.headers["x-request-id"]
    for t, row in zip(texts[:5], r.json(), strict=False):  # alone = in a batch (fp32 is batch-independent)
        assert predict(url, [t]).json() == [row]


def test_concurrent_requests_are_merged_and_keep_the_batch_contract(url: str):
    """200 single-text requests from 32 threads: each gets its own answer, and BentoML's batcher merged some of
    them (fewer model batches than requests)."""
    texts = make_texts(200, seed=9)
    expected = {t: predict(url, [t]).json()[0] for t in texts[:20]}
    before = batches_seen(url)
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda t: (t, predict(url, [t])), texts))
    batches = batches_seen(url) - before
    for t, r in answers:
        assert r.status_code == 200 and len(r.json()) == 1
        if t in expected:
            assert r.json()[0] == expected[t]
    assert 0 < batches < len(texts)


def test_predict_validates_and_authenticates(url: str, tiny_model: Path):
    r = httpx.post(f"{url}/predict", content=b'{"texts": ["ok", 3]}', timeout=30)
    assert r.status_code == 400 and r.json()["field"] == "texts[1]"
    assert "server-timing" not in r.headers  # refused at the parse step: no answer, no steps
    with running_server(tiny_model, *ARGS, env={"SENTIMENT_API_KEY": "s3cret"}) as url:
        body = {"texts": ["ok"]}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "s3cre"}):
            r = httpx.post(f"{url}/predict", json=body, headers=headers, timeout=30)
            assert r.status_code == 401 and "server-timing" not in r.headers, headers
        for headers in ({"Authorization": "Bearer s3cret"}, {"X-API-Key": "s3cret"}):
            r = httpx.post(f"{url}/predict", json=body, headers=headers, timeout=30)
            assert r.status_code == 200 and "model;dur=" in r.headers["server-timing"], headers


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


def test_batcher_wait_is_capped_and_batches_are_split_back():
    """The service's own instance of BentoML's batcher: an adaptive wait left high by a burst is capped before a
    request is queued, concurrent requests are merged, and each request gets exactly its own rows back."""
    import asyncio

    calls: list[int] = []

    def predict_batch(texts: list[str]) -> list[dict]:
        calls.append(len(texts))
        return [{"label": t, "scores": {}} for t in texts]

    async def run() -> tuple[list, float]:
        model = BatchedModel(predict_batch, batching=True, max_batch_size=64, max_latency_ms=2000, max_wait_s=0.005)
        assert model.batcher is not None
        model.batcher.wait = 0.8  # as after a burst of concurrent traffic
        answers = await asyncio.gather(*(model([f"{i}a", f"{i}b"]) for i in range(10)))
        return answers, model.batcher.wait

    answers, wait = asyncio.run(run())
    assert wait <= 0.005
    assert [a.rows for a in answers] == [
        [{"label": f"{i}a", "scores": {}}, {"label": f"{i}b", "scores": {}}] for i in range(10)
    ]
    assert sum(calls) == 20 and len(calls) < 10  # merged
    # each answer names its merged batch (what the request's trace span reports): sizes add up to the calls
    batches = {a.started: a.batch_size for a in answers}  # one model call per distinct start time
    assert sorted(batches.values()) == sorted(calls)
    assert all(a.model_s > 0 for a in answers)


def test_model_threads_run_merged_batches_in_parallel():
    """With model_threads=2 two merged batches are in the model at the same time (one per core)."""
    import asyncio
    import threading
    import time

    running, peak, lock = 0, 0, threading.Lock()

    def predict_batch(texts: list[str]) -> list[dict]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return [{"label": t, "scores": {}} for t in texts]

    async def run(threads: int) -> None:
        model = BatchedModel(predict_batch, batching=True, max_batch_size=4, max_latency_ms=5000, model_threads=threads)
        await asyncio.gather(*(model([str(i)]) for i in range(24)))

    asyncio.run(run(1))
    assert peak == 1
    peak = 0
    asyncio.run(run(2))
    assert peak == 2


def test_a_batch_that_breaks_the_contract_is_an_error_not_a_misassignment():
    import asyncio

    from service.core.predictor import BatchContractError

    model = BatchedModel(
        lambda texts: [{"label": "x", "scores": {}}], batching=False, max_batch_size=8, max_latency_ms=100
    )
    with pytest.raises(BatchContractError, match="1 outputs for 2 inputs"):
        asyncio.run(model(["a", "b"]))


def test_a_request_split_over_two_batches_gets_all_its_rows():
    """BentoML splits a request that does not fit the rest of a batch (here 3 + 3 texts, batches of 4) and joins
    the parts' results; the request is answered with its rows in order, and names the later batch."""
    import asyncio

    calls: list[list[str]] = []

    def predict_batch(texts: list[str]) -> list[dict]:
        calls.append(list(texts))
        return [{"label": t, "scores": {}} for t in texts]

    async def run() -> list:
        model = BatchedModel(predict_batch, batching=True, max_batch_size=4, max_latency_ms=60000, max_wait_s=0.05)
        requests = [["a1", "a2", "a3"], ["b1", "b2", "b3"], ["c1", "c2", "c3"]]
        return await asyncio.wait_for(asyncio.gather(*(model(r) for r in requests)), timeout=10)

    answers = asyncio.run(run())
    assert [[row["label"] for row in a.rows] for a in answers] == [
        ["a1", "a2", "a3"],
        ["b1", "b2", "b3"],
        ["c1", "c2", "c3"],
    ]
    assert any(len(c) == 4 for c in calls[1:])  # merged up to the limit: some request was split
    assert all(a.batch_size <= 4 and a.model_s > 0 for a in answers)
