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


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    from service.core.manifest import DEFAULT_MODEL_DIR
    from training.config import TrainConfig
    from training.crossfit import temporal_folds

    p = argparse.ArgumentParser(
        prog="python -m training.behaviour_report",
        description="The behavioural figures of any model directory (the suite and the emoticon -> emoji swap over "
        "every labelled tweet), as the final training run stores them; e.g. for the previous default's 'before' "
        "column of the model card.",
    )
    p.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model directory (default: models/default)")
    p.add_argument("--out", required=True, help="JSON file to write")
    args = p.parse_args(argv)
    model_dir = Path(args.model)
    figures = behaviour_metrics(model_dir, temporal_folds(TrainConfig().data_dir))
    version = json.loads((model_dir / "manifest.json").read_text())["version"]
    out = {"model_version": version, "results": figures["behaviour"], "emoticon_swap": figures["emoticon_swap"]}
    Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(out["emoticon_swap"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
