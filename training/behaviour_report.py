"""The behavioural figures of an exported model, measured through the serving path (service.core.Predictor) and
stored in its manifest: the CheckList-style suite (service/core/behaviour.py) and the emoticon -> emoji
invariance on the labelled tweets that contain emoticons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.core.artifact import load_artifact
from service.core.behaviour import emoticon_swap_invariance, run_suite
from service.core.predictor import Predictor
from training.crossfit import TemporalFolds


def behaviour_metrics(model_dir: Path, folds: TemporalFolds) -> dict[str, Any]:
    predictor = Predictor(load_artifact(model_dir, device="cpu"))
    suite = run_suite(predictor.predict_proba, predictor.labels)
    swap = emoticon_swap_invariance(predictor.predict_proba, [ex.text for ex in folds.every])
    return {"behaviour": [r.to_dict() for r in suite], "emoticon_swap": swap}
