"""scripts/gpu_check.py --device cpu --quick, the CPU rehearsal of the GPU machine's check (issue 18), so that the
one command prepared for a GPU cannot rot: every step runs for real (the artifact, a `sentiment serve` under the
load generator, a local Ray cluster, a one-epoch training run) and its report holds the figures."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from service.core.paths import REPO


def _run(*args: str, timeout: float = 420) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.gpu_check", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def _positive(x: float) -> bool:
    return math.isfinite(x) and x > 0


@pytest.mark.slow
def test_quick_cpu_check_passes_with_real_figures(tmp_path: Path) -> None:
    proc = _run("--device", "cpu", "--quick", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "gpu.json").read_text())
    steps = report["steps"]
    assert {name: s["status"] for name, s in steps.items()} == dict.fromkeys(
        ("facts", "load", "parity", "half", "throughput", "serve", "ray", "train"), "ok"
    )
    res = {name: s["result"] for name, s in steps.items()}
    assert res["facts"]["packages"]["torch"] == torch.__version__.split("+")[0]
    assert res["load"]["running_torch"] == torch.__version__ and res["load"]["exported_with_torch"]

    parity = res["parity"]
    assert parity["texts"] == 200 and parity["max_abs_diff"] <= 1e-4 and parity["label_agreement"] == 1.0

    half = res["half"]
    assert half["texts"] == 200 and [r["dtype"] for r in half["rows"]] == ["float16", "bfloat16"]
    for r in half["rows"]:  # a cast model: close to fp32, not equal to it
        assert 0 < r["max_abs_diff"] < 0.05 and r["label_agreement"] >= 0.995 and abs(r["avg_recall_change"]) < 0.02

    rows = res["throughput"]["rows"]
    assert [r["batch"] for r in rows] == [1, 16, 64]
    assert all(_positive(r[k]) for r in rows for k in ("forward_ms", "forward_texts_per_s", "e2e_texts_per_s"))

    (run,) = res["serve"]["runs"]  # --quick: one worker
    assert run["answers"]["texts"] == 256 and run["answers"]["max_score_diff"] <= 1e-5
    assert run["answers"]["label_agreement"] == 1.0
    for kind, texts_per_request in (("single", 1), ("batch64", 64)):
        load = run[kind]
        assert load["errors"] == 0 and load["requests"] > 0 and _positive(load["rps"])
        assert load["texts_per_s"] == pytest.approx(texts_per_request * load["rps"], rel=0.01)
        assert 0 < load["p50_ms"] <= load["p99_ms"]

    ray = res["ray"]
    assert ray["local"]["summary"]["rows"] == ray["ray"]["summary"]["rows"] == ray["rows"] == 1000
    assert ray["ray"]["summary"]["labels"] == ray["local"]["summary"]["labels"]
    assert ray["ray_vs_local"]["max_score_diff"] <= 1e-5 and ray["ray_vs_local"]["label_agreement"] == 1.0

    train = res["train"]
    assert len(train["epoch_s"]) == 1 and train["epoch_s"][0] >= 0 and 0.3 < train["test_avg_recall"] <= 1.0
    md = (tmp_path / "gpu.md").read_text()
    assert "## serve — ok" in md and "## train — ok" in md and "FAILED" not in md


@pytest.mark.slow  # starts a server or runs for seconds (marker policy: tests/conftest.py)
def test_a_failing_step_is_recorded_and_fails_the_run(tmp_path: Path) -> None:
    proc = _run(
        "--device", "cpu", "--quick", "--steps", "facts,load", "--model", str(tmp_path / "nope"), "--out", str(tmp_path)
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    steps = json.loads((tmp_path / "gpu.json").read_text())["steps"]
    assert steps["facts"]["status"] == "ok"
    assert steps["load"]["status"] == "failed" and "model directory not found" in steps["load"]["error"]
    assert "## load — **FAILED**" in (tmp_path / "gpu.md").read_text()


def test_check_size_counts_the_tree_and_the_travel_folder(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "x.whl").write_bytes(b"0" * 2**20)
    proc = _run("--check-size", "--travel", str(tmp_path), timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "models/default/model.pt" in proc.stdout and "(wheels 1.00 MiB)" in proc.stdout
    assert "-> fits" in proc.stdout
