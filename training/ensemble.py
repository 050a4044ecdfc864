"""Compose exported models into one calibrated TorchScript artifact (no retraining).

    python -m training.ensemble build/runs/base --name base-bias            # one model + class bias
    python -m training.ensemble build/runs/base build/runs/reg --name default  # ensemble of two runs

The members (exported artifacts sharing one vocabulary and feature config: same split and vocabulary
settings) are averaged in probability space. On validation, per-class logit biases are fitted to maximise
AvgRec (the task metric is macro recall; class-weighted training alone over-predicts the rare class), then a
temperature is fitted for NLL on the biased scores. Both are stored in the module and the manifest:
``probs = softmax((log(mean_i p_i) + bias) / T)``. Validation and internal-test metrics are recomputed, and
the result is exported with the same parity check as `sentiment train`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from service.core.artifact import load_artifact
from service.core.manifest import read_manifest
from service.core.predictor import Predictor, forward_sorted
from training.bias import fit_class_bias
from training.calibration import fit_temperature, split_metrics
from training.config import config_from_saved
from training.data import load_splits
from training.export import export
from training.model import Ensemble

REPO = Path(__file__).resolve().parent.parent


def member_log_probs(model: Ensemble, texts: list[str], artifact_dir: Path) -> np.ndarray:
    """Unbiased log-mean probabilities (N, C) through the serving encoder."""
    art = load_artifact(artifact_dir, "cpu", require_binding=False)
    enc = Predictor(art).encode(texts)
    unbiased = lambda w, s, n: model.logits(w, s, n) - model.class_bias  # noqa: E731  (B, C)
    return forward_sorted(unbiased, enc, 512, torch.device("cpu"), len(art.labels))  # (N, C)


def combine(member_dirs: list[Path], name: str, out_parent: Path) -> dict[str, Any]:
    manifests = [json.loads((d / "manifest.json").read_text()) for d in member_dirs]
    vocabs = {(d / "vocab.json").read_text() for d in member_dirs}
    if len(vocabs) != 1 or len({json.dumps(m["features"], sort_keys=True) for m in manifests}) != 1:
        raise SystemExit("error: members must share one vocabulary and feature config (same split and vocab settings)")
    cfg = config_from_saved(manifests[0]["config"])
    splits = load_splits(  # the split the members were trained on (limit included)
        cfg.data_dir, cfg.val_fraction, cfg.test_fraction, cfg.split_seed, cfg.limit, protocol=cfg.split
    )
    members = [load_artifact(d, "cpu", require_binding=False).module for d in member_dirs]
    model = Ensemble(members).eval()
    val_texts, test_texts = [e.text for e in splits.val], [e.text for e in splits.test]
    val_gold = np.array([e.label for e in splits.val])
    test_gold = torch.tensor([e.label for e in splits.test])
    val_lp = member_log_probs(model, val_texts, member_dirs[0])
    test_lp = member_log_probs(model, test_texts, member_dirs[0])
    bias = fit_class_bias(val_lp, val_gold)
    model.class_bias.copy_(torch.from_numpy(bias).float())
    val_logits, test_logits = torch.from_numpy(val_lp + bias), torch.from_numpy(test_lp + bias)
    temperature = fit_temperature(val_logits, torch.from_numpy(val_gold))
    model.temperature.fill_(temperature)
    metrics: dict[str, Any] = {
        "members": [m["version"] for m in manifests],
        "class_bias": dict(zip(["negative", "neutral", "positive"], bias.round(3).tolist(), strict=True)),
        "temperature": temperature,
        "validation": split_metrics(val_logits, torch.from_numpy(val_gold), temperature),
        "test": split_metrics(test_logits, test_gold, temperature),
        "test_uncalibrated": split_metrics(test_logits, test_gold, 1.0),
        "test_unbiased": split_metrics(torch.from_numpy(test_lp), test_gold, 1.0),
        "best_epoch": manifests[0]["metrics"]["best_epoch"],
        "history": manifests[0]["metrics"]["history"],
        "train_seconds": sum(m["metrics"]["train_seconds"] for m in manifests),
        "splits": manifests[0]["metrics"]["splits"],
    }
    itos = json.loads(vocabs.pop())
    version = f"{name}-{manifests[0]['data']['sha256'][:8]}-" + "+".join(m["name"] for m in manifests)
    config = {**manifests[0]["config"], "ensemble_members": [m["config"] for m in manifests]}
    path = export(
        model,
        itos,
        cfg,
        out_parent / name,
        name=name,
        version=version,
        metrics=metrics,
        data_info=manifests[0]["data"],
        parity_texts=val_texts[:256],
    )
    manifest = read_manifest(path)
    manifest.config = config
    manifest.write(path)  # the manifest's sha256 list covers model.pt and vocab.json only: still valid
    return {
        "model_dir": str(path),
        "version": version,
        "class_bias": metrics["class_bias"],
        "temperature": temperature,
        "val_avg_recall": metrics["validation"]["avg_recall"],
        "test_avg_recall": metrics["test"]["avg_recall"],
        "test_f1_pn": metrics["test"]["f1_pn"],
        "test_avg_recall_unbiased": metrics["test_unbiased"]["avg_recall"],
        "ece_before": metrics["test_uncalibrated"]["ece"],
        "ece_after": metrics["test"]["ece"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.ensemble", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("members", nargs="+", help="exported model directories")
    p.add_argument("--name", required=True, help="name of the new artifact")
    p.add_argument("--out", default=str(REPO / "build" / "runs"), help="parent directory (default: build/runs)")
    args = p.parse_args(argv)
    print(json.dumps(combine([Path(m) for m in args.members], args.name, Path(args.out)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
