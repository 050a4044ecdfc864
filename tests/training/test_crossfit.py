"""Temporal cross-fitting and the final fit (training/crossfit.py, `sentiment train --split final`)."""

import json
from pathlib import Path

import numpy as np
import pytest

from service.core.artifact import load_artifact
from service.core.paths import DATA_DIR
from service.core.predictor import Predictor
from training.crossfit import cross_fitted, temporal_folds
from training.data import TEMPORAL_FILE


def test_folds_split_the_pool_once_and_halve_only_the_newest_file():
    folds = temporal_folds(str(DATA_DIR))
    h0, h1 = folds.halves
    ids = [ex.id for ex in folds.every]
    assert len(ids) == len(set(ids))  # each tweet once: the final fit sees every labelled tweet exactly once
    assert all(TEMPORAL_FILE in ex.files for ex in h0 + h1)
    assert not any(TEMPORAL_FILE in ex.files for ex in folds.old)
    assert abs(len(h0) - len(h1)) < 0.02 * len(h0 + h1)
    assert not any("sarcasm" in f for ex in folds.every for f in ex.files)


def test_each_half_is_calibrated_on_the_other_half_only():
    rng = np.random.default_rng(0)
    gold = np.tile(np.arange(3), 200)  # (600,)
    half = np.repeat([0, 1], 300)
    logits = np.eye(3)[gold] * 2.0 + rng.normal(0, 0.8, (600, 3))  # (600, 3)
    logits[half == 1, 2] -= 1.5  # only half 1's model under-calls positive
    res = cross_fitted(logits, gold, half)
    bias_for_half0, bias_for_half1 = res["biases"]  # fitted on half 1 and on half 0 respectively
    assert bias_for_half0[2] > 0.5 and abs(bias_for_half1[2]) < 0.5
    assert res["calibrated"]["n"] == res["raw"]["n"] == 600
    # half 0 gets half 1's large positive bias, which it does not need: fitted on its own labels it would not
    assert res["calibrated"]["avg_recall"] < res["raw"]["avg_recall"]
    assert 0.0 <= res["calibrated"]["ece"] <= 1.0


@pytest.mark.slow
def test_final_split_exports_a_model_trained_on_every_tweet_with_its_estimate(final_tiny_model: Path):
    manifest = json.loads((final_tiny_model / "manifest.json").read_text())
    m = manifest["metrics"]
    assert manifest["data"]["split"]["protocol"] == "final"
    folds = temporal_folds(str(DATA_DIR), limit=1500)
    assert m["trained_on"]["tweets"] == len(folds.every) and m["splits"]["train"] >= len(folds.every)
    assert m["crossfit"]["calibrated"]["n"] == len(folds.halves[0]) + len(folds.halves[1])
    assert m["crossfit"]["epochs"] == 1 and "recipe_without_newer" not in m["crossfit"]  # --no-compare
    assert {r["name"] for r in m["behaviour"]} >= {"negated_negative", "emoji_only_not_neutral", "typos"}
    assert m["emoticon_swap"]["n"] > 0
    # the bias and temperature fitted on the out-of-fold predictions are the served model's
    served = Predictor(load_artifact(final_tiny_model, "cpu"))
    assert served.artifact.module.temperature.item() == pytest.approx(m["temperature"], rel=1e-6)
    bias = served.artifact.module.class_bias.tolist()
    assert bias == pytest.approx([m["class_bias"][k] for k in ("negative", "neutral", "positive")], abs=1e-6)


@pytest.mark.slow
def test_dry_run_of_the_default_command_exports_a_loadable_model(tmp_path: Path):
    """`sentiment train --dry-run` (the CI check of the default command): the whole final pipeline at the default
    model size, one short epoch on ~3,000 tweets."""
    import subprocess
    import sys

    from service.core.paths import REPO

    cmd = [sys.executable, "-m", "training", "--dry-run", "--no-compare", "--extend-vocab", "2000", "--no-progress"]
    proc = subprocess.run([*cmd, "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["trained_on"] == 3000 and 0.0 < summary["oof_avg_recall"] <= 1.0
    assert Predictor(load_artifact(tmp_path / "default", "cpu")).predict(["not bad at all 😍"])[0].label


def test_a_final_fit_without_a_length_is_refused_before_any_work():
    import subprocess
    import sys

    from service.core.paths import REPO

    cmd = [sys.executable, "-m", "training", "--final-epochs", "0", "--no-progress"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--final-epochs must be at least 1" in proc.stderr
