import json

import numpy as np
import pytest
import torch

from service.core.artifact import load_artifact
from service.core.predictor import Predictor
from tests.conftest import train_tiny
from training.ensemble import combine, fit_class_bias

TEXTS = ["great game tonight!", "my flight got cancelled, furious", "the store opens at 9", "meh"]


def test_fit_class_bias_recovers_a_shift():
    rng = np.random.RandomState(0)
    gold = rng.randint(0, 3, size=600)
    logits = np.eye(3)[gold] * 2.0 + rng.normal(0, 1, (600, 3))
    shifted = logits - np.array([1.0, 0.0, 0.0])  # the model under-predicts "negative"
    bias = fit_class_bias(shifted, gold)
    assert bias[1] == 0.0 and bias[0] > 0.5


@pytest.mark.slow
def test_combined_artifact_is_the_biased_tempered_mean_of_its_members(tiny_model, tmp_path):
    second = train_tiny(tmp_path / "m", "tiny2", ["--seed", "2"])
    summary = combine([tiny_model, second], "ens", tmp_path / "out")
    ens = load_artifact(summary["model_dir"], "cpu")
    manifest = json.loads((ens.model_dir / "manifest.json").read_text())
    assert manifest["parity"]["max_abs_diff"] <= 1e-5 and len(manifest["metrics"]["members"]) == 2
    got = Predictor(ens).predict_proba(TEXTS)
    p1, p2 = (Predictor(load_artifact(d, "cpu")).predict_proba(TEXTS) for d in (tiny_model, second))
    bias = np.array([manifest["metrics"]["class_bias"][k] for k in ("negative", "neutral", "positive")])
    expected = torch.softmax(torch.from_numpy((np.log((p1 + p2) / 2) + bias) / manifest["temperature"]), dim=1)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4)
