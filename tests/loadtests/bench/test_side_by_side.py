"""The side-by-side pieces of `sentiment-lab bench`: the hand-written peer answers like the in-process predictor, the
model-limit processes all run and are summed, and the ratios divide the right figures."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from loadtests.bench import servers
from loadtests.bench.model_limit import run_model_limit
from loadtests.bench.ratios import side_by_side
from loadtests.bench.report_side import section
from service.api.launcher import free_port
from service.core.artifact import load_artifact
from service.core.paths import DEFAULT_MODEL_DIR as DEFAULT_MODEL
from service.core.paths import REPO
from service.core.predictor import Predictor
from service.core.reference import clean_tweets


@pytest.mark.slow  # starts a server or runs for seconds (marker policy: tests/conftest.py)
def test_the_peer_answers_like_the_in_process_predictor():
    texts = [t.text for t in clean_tweets(40)]
    expected = Predictor(load_artifact(DEFAULT_MODEL, "cpu")).predict(texts)
    port = free_port()
    with servers.started(servers.peer_cmd(DEFAULT_MODEL, port), port) as srv:
        got = httpx.post(srv.url + "/predict", json={"texts": texts}, timeout=30).json()
        single = httpx.post(srv.url + "/predict", json={"texts": texts[:1]}, timeout=30).json()
        bad = httpx.post(srv.url + "/predict", json={"texts": []}, timeout=30)
    assert [g["label"] for g in got] == [e.label for e in expected]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(list(g["scores"].values()), list(e.scores.model_dump().values()), atol=1e-5)
    assert single == got[:1]
    assert bad.status_code == 400


@pytest.mark.slow  # starts a server or runs for seconds (marker policy: tests/conftest.py)
def test_model_limit_runs_every_process_and_sums_them():
    texts = [t.text for t in clean_tweets(256)]
    res = run_model_limit(DEFAULT_MODEL, texts, processes=2, seconds=0.5, batch=64, cwd=REPO)
    assert len(res["per_process"]) == 2
    assert all(p["texts"] > 0 and p["texts"] % 64 == 0 for p in res["per_process"])
    assert res["texts_per_s"] == round(sum(p["texts_per_s"] for p in res["per_process"]), 1)


def _runs(single: float, mid: float, multi: float) -> dict:
    return {
        "single": [{"texts_per_s": single * 0.5}, {"texts_per_s": single}],
        "mid": [{"texts_per_s": mid}],
        "multi": [{"texts_per_s": multi}, {"texts_per_s": multi * 0.9}],
    }


def test_side_by_side_divides_the_best_runs_by_the_limit_and_the_peer(tmp_path: Path):
    res = {
        "model_limit": {
            "texts_per_s": 2500.0,
            "processes": 2,
            "intra_op_threads": 1,
            "batch": 64,
            "seconds": 4,
            "per_process": [{"texts_per_s": 1250.0}, {"texts_per_s": 1250.0}],
        },
        "offline": {"texts_per_s": 2000.0},
        "http": {
            "served-batching": _runs(1250.0, 2000.0, 2250.0),
            "starlette-peer": _runs(250.0, 1000.0, 1500.0),
        },
    }
    sbs = side_by_side(res)
    served = sbs["rows"]["served-batching"]
    assert served["single"] == {"texts_per_s": 1250.0, "vs_limit": 0.5, "vs_peer": 5.0}
    assert served["multi"] == {"texts_per_s": 2250.0, "vs_limit": 0.9, "vs_peer": 1.5}
    assert sbs["offline_vs_limit"] == 0.8
    assert "served-no-batching" not in sbs["rows"]
    text = "\n".join(section(res | {"ratios": {"side_by_side": sbs}}, tmp_path))
    assert "**2,500 texts/s**" in text and "| 2,250 | 0.90 | 1.50 |" in text
