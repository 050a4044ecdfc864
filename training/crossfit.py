"""`--split final` (the default): learn from every labelled tweet, calibrate on predictions no model trained on.

The recipe is chosen on the temporal protocol (training.data: train on the older files, validate on one id-hash
half of ``twitter-2016test-A.tsv``), which also fixes the training length (``final_epochs``, the temporal run's
best epoch) before any of the steps below looks at a score. Then:

1. **Temporal cross-fitting.** The newest file's two id-hash halves H0 and H1 take turns: train on the older files
   plus H1, predict H0; train on the older files plus H0, predict H1. Every tweet of the newest file then has an
   out-of-fold (OOF) prediction from a model that did not train on it.
2. **The honest estimate.** AvgRec of the OOF predictions, with the class bias of each half fitted on the other
   half's OOF predictions (cross-fitted calibration: no decision is scored on the tweets it was fitted on).
3. **The gain from the newer data.** The same recipe trained on the older files only predicts both halves and is
   scored the same way; so is the TF-IDF + LR baseline (its C as the temporal protocol picked it).
4. **The final fit** on every labelled tweet (the older files, H0 and H1; the sarcasm file stays a probe), for the
   same fixed length, with the class bias and temperature fitted on all OOF predictions.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from service.core.evaluation import evaluate_predictions, expected_calibration_error
from service.core.labels import LABELS
from training.bias import fit_class_bias
from training.calibration import fit_temperature
from training.config import TrainConfig
from training.data import TEMPORAL_FILE, Example, Splits, id_half, load_pool, pool_hash
from training.train import TrainResult, train

TFIDF_C = 0.5  # the TF-IDF baseline's C as the temporal protocol picked it (docs/baselines-temporal.json)


@dataclass
class TemporalFolds:
    old: list[Example]  # every file but the newest (and the sarcasm probe)
    halves: tuple[list[Example], list[Example]]  # the newest file's tweets by id_half: H0, H1
    data_sha256: str
    n_duplicates: int
    n_conflicts: int

    @property
    def every(self) -> list[Example]:
        return self.old + self.halves[0] + self.halves[1]


def temporal_folds(data_dir: str, limit: int = 0) -> TemporalFolds:
    """The pool cut as cross-fitting uses it; `limit` keeps about that many tweets (the same share of each part)."""
    pool, dups, conflicts = load_pool(data_dir)
    old = [ex for ex in pool if TEMPORAL_FILE not in ex.files]
    held = [ex for ex in pool if TEMPORAL_FILE in ex.files]
    h0 = [ex for ex in held if id_half(ex.id) == 0]
    h1 = [ex for ex in held if id_half(ex.id) == 1]
    if limit:
        share = min(1.0, limit / len(pool))
        old, h0, h1 = (part[: max(2, round(len(part) * share))] for part in (old, h0, h1))
    return TemporalFolds(old, (h0, h1), pool_hash(pool), dups, conflicts)


def fit_model(train_part: list[Example], eval_part: list[Example], cfg: TrainConfig, progress: bool) -> TrainResult:
    """The recipe for the fixed length, uncalibrated. `eval_part` selects nothing: its scores before any class bias
    or temperature come back as ``val_logits`` (N, C)."""
    fixed_cfg = replace(cfg, epochs=cfg.final_epochs, patience=0, class_bias=False, calibrate=False)
    return train(Splits(train_part, eval_part, eval_part, "", 0, 0, "final"), fixed_cfg, progress=progress)


def oof_logits(result: TrainResult) -> np.ndarray:
    """The scores (N, C) a fit gave its evaluation part, in that part's order."""
    assert result.val_logits is not None
    return result.val_logits.numpy()


def cross_fitted(logits: np.ndarray, gold: np.ndarray, half: np.ndarray) -> dict[str, Any]:
    """Metrics of OOF logits (N, C) whose rows belong to half 0 or 1: raw argmax, and with each half's class bias
    and temperature fitted on the other half (cross-fitted calibration)."""
    raw = evaluate_predictions(gold.tolist(), logits.argmax(axis=1).tolist())
    pred = np.zeros(len(gold), dtype=np.int64)
    probs = np.zeros_like(logits)
    biases = []
    for k in (0, 1):
        fit_on, apply_to = half != k, half == k
        bias = fit_class_bias(logits[fit_on], gold[fit_on])
        t = fit_temperature(torch.from_numpy(logits[fit_on] + bias).float(), torch.from_numpy(gold[fit_on]))
        pred[apply_to] = (logits[apply_to] + bias).argmax(axis=1)
        probs[apply_to] = torch.softmax(torch.from_numpy(logits[apply_to] + bias).float() / t, dim=1).numpy()
        biases.append([round(float(b), 3) for b in bias])
    calibrated = evaluate_predictions(gold.tolist(), pred.tolist())
    calibrated["ece"] = expected_calibration_error(probs, gold.tolist())
    return {"raw": _short(raw), "calibrated": {**_short(calibrated), "ece": calibrated["ece"]}, "biases": biases}


def _short(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "n": m["n"],
        "avg_recall": m["avg_recall"],
        "f1_pn": m["f1_pn"],
        "accuracy": m["accuracy"],
        "recall": {k: v["recall"] for k, v in m["per_class"].items()},
    }


def tfidf_oof(folds: TemporalFolds, with_newer: bool) -> dict[str, Any]:
    """The TF-IDF + LR baseline under the same protocol: OOF predictions of both halves (with the other half in
    training when `with_newer`, else trained on the older files only)."""
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    from training.baselines import vectorizers

    gold, pred = [], []
    for k in (0, 1):
        train_part = folds.old + (folds.halves[1 - k] if with_newer else [])
        bigram, char = vectorizers()
        texts = [e.text for e in train_part]
        x = hstack([bigram.fit_transform(texts), char.fit_transform(texts)]).tocsr()
        clf = LogisticRegression(C=TFIDF_C, max_iter=2000, class_weight="balanced").fit(
            x, [e.label for e in train_part]
        )
        held = [e.text for e in folds.halves[k]]
        pred += clf.predict(hstack([bigram.transform(held), char.transform(held)]).tocsr()).tolist()
        gold += [e.label for e in folds.halves[k]]
    return _short(evaluate_predictions(gold, pred))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def crossfit_and_fit(
    cfg: TrainConfig, progress: bool = True, compare: bool = True
) -> tuple[TrainResult, TemporalFolds]:
    """Steps 1-4 of the module docstring. Returns the final model (class bias and temperature set) whose metrics
    hold the cross-fitted estimate, the comparisons and what it was trained on."""
    t0 = time.time()
    folds = temporal_folds(cfg.data_dir, cfg.limit)
    h0, h1 = folds.halves
    log(f"cross-fitting: {len(folds.old)} older tweets, newest file halves {len(h0)} + {len(h1)}; "
        f"{cfg.final_epochs} epoch(s) per fit, fixed beforehand")  # fmt: skip
    held = h0 + h1
    gold = np.array([e.label for e in held], dtype=np.int64)
    half = np.array([0] * len(h0) + [1] * len(h1), dtype=np.int64)
    oof = []
    for k in (0, 1):
        log(f"fold {k + 1}/2: train on the older files + half {1 - k}, predict half {k}")
        oof.append(oof_logits(fit_model(folds.old + folds.halves[1 - k], folds.halves[k], cfg, progress)))
    logits = np.concatenate(oof)  # (N_held, C)
    estimate = cross_fitted(logits, gold, half)
    log(f"out-of-fold AvgRec {estimate['calibrated']['avg_recall']:.4f} (raw {estimate['raw']['avg_recall']:.4f})")
    comparisons: dict[str, Any] = {}
    if compare:
        log("comparison: the same recipe on the older files only, predicting both halves")
        without = oof_logits(fit_model(folds.old, held, cfg, progress))
        comparisons["recipe_without_newer"] = cross_fitted(without, gold, half)
        log("comparison: TF-IDF + LR with and without the other half")
        comparisons["tfidf_with_newer"] = tfidf_oof(folds, True)
        comparisons["tfidf_without_newer"] = tfidf_oof(folds, False)
    bias = fit_class_bias(logits, gold)
    temperature = fit_temperature(torch.from_numpy(logits + bias).float(), torch.from_numpy(gold))
    log(f"final fit on every labelled tweet ({len(folds.every)}); class bias {bias.round(3).tolist()}, "
        f"temperature {temperature:.3f} from the out-of-fold predictions")  # fmt: skip
    result = fit_model(folds.every, [], cfg, progress)
    result.model.class_bias.copy_(torch.from_numpy(bias).float())
    result.model.temperature.fill_(temperature)
    result.cfg = cfg
    result.metrics.update(
        {
            "protocol": "final",
            "temperature": temperature,
            "class_bias": dict(zip(LABELS, [float(b) for b in bias], strict=True)),
            "crossfit": {
                "what": "out-of-fold predictions of twitter-2016test-A.tsv (both id-hash halves), each by a model "
                "trained on the older files + the other half; class bias and temperature cross-fitted",
                "epochs": cfg.final_epochs,
                **estimate,
                **comparisons,
            },
            "trained_on": {
                "tweets": len(folds.every),
                "older_files": len(folds.old),
                "newest_file": len(held),
                "excluded": "twitter-2014sarcasm-A.tsv (a failure-mode probe)",
            },
            "crossfit_seconds": round(time.time() - t0),
        }
    )
    return result, folds
