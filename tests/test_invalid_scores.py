"""A model that answers NaN (or anything that is not a probability distribution) never reaches an output: every
path stops with a clear error naming the rows, and nothing is written as scores."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from service.batch.engines.api import ApiScorer
from service.batch.engines.local import score_file
from service.batch.rows import ScoringError
from service.core.artifact import load_artifact
from service.core.predictor import InvalidScores, Predictor, check_probabilities
from tests.conftest import poisoned_model, running_server


def _input(tmp_path: Path, n: int = 5) -> Path:
    """`n` rows; the one-token texts (rows 1 and 3) get NaN from the poisoned model."""
    src = tmp_path / "in.jsonl"
    texts = [f"tweet number {i}" if i % 2 == 0 else "hello" for i in range(n)]
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return src


@pytest.mark.parametrize(
    "probs, bad",
    [
        ([[0.2, 0.3, 0.5], [np.nan, 0.5, 0.5]], [1]),
        ([[np.inf, 0.0, 0.0], [0.2, 0.3, 0.5]], [0]),
        ([[0.2, 0.3, 0.4], [0.5, 0.5, 0.0]], [0]),  # sums to 0.9
        ([[1.2, -0.2, 0.0], [0.1, 0.1, 0.8]], [0]),  # sums to 1, not probabilities
    ],
)
def test_check_probabilities_names_the_bad_rows(probs, bad):
    with pytest.raises(InvalidScores) as e:
        check_probabilities(np.array(probs, dtype=np.float32))
    assert e.value.rows == bad


def test_rows_within_the_tolerance_pass():
    check_probabilities(np.array([[0.2, 0.3, 0.5004], [1.0, 0.0, 0.0]], dtype=np.float32))


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_local_engine_stops_with_the_rows_and_writes_no_output(tmp_path, nan_model, ext):
    out = tmp_path / f"out.{ext}"
    with pytest.raises(
        ScoringError, match=r"invalid scores .* for 2 of 5 rows of this window: line 2 \(id r1\), line 4"
    ):
        score_file(load_artifact(nan_model, "cpu"), str(_input(tmp_path)), str(out), progress=False)
    assert not out.exists()


def test_in_process_predictor_refuses(nan_model):
    predictor = Predictor(load_artifact(nan_model, "cpu"))
    assert len(predictor.predict(["tweet number one"])) == 1
    with pytest.raises(InvalidScores):
        predictor.predict(["tweet number one", "hello"])


def test_ray_engine_stops_too(tmp_path, nan_model):
    pytest.importorskip("ray")
    from service.batch.engines.ray import score_with_ray

    out = tmp_path / "out.jsonl"
    with pytest.raises(ScoringError, match="invalid scores"):
        score_with_ray(nan_model, str(_input(tmp_path)), str(out), actors=1, progress=False)
    assert not out.exists()


def test_api_answers_500_not_nan_and_via_api_stops(tmp_path, nan_model):
    with running_server(nan_model) as url:
        r = httpx.post(f"{url}/predict", json={"texts": ["hello", "world"]}, timeout=30)
        assert r.status_code == 500 and "NaN" not in r.text and r.json()["error"]
        with pytest.raises(ScoringError, match="answered 500"):
            score_file(ApiScorer(url, retries=0), str(_input(tmp_path)), str(tmp_path / "o.jsonl"), progress=False)
    assert not (tmp_path / "o.jsonl").exists()


def test_api_refuses_scores_that_do_not_sum_to_one(tmp_path, tiny_model):
    zeros = poisoned_model(tiny_model, tmp_path / "zeros", 0.0)
    with running_server(zeros) as url:
        assert httpx.post(f"{url}/predict", json={"texts": ["tweet number one"]}, timeout=30).status_code == 200
        r = httpx.post(f"{url}/predict", json={"texts": ["tweet number one", "hello"]}, timeout=30)
    assert r.status_code == 500


def test_a_model_that_fails_its_warm_up_is_not_served(tmp_path, tiny_model):
    import subprocess
    import sys

    from service.api.launcher import free_port
    from service.core.paths import REPO

    broken = poisoned_model(tiny_model, tmp_path / "broken", float("nan"), min_tokens=1000)  # NaN for every text
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--model", str(broken), "--port", str(free_port())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 2
    assert "warm-up" in proc.stderr.splitlines()[-1] and "invalid scores" in proc.stderr.splitlines()[-1]
