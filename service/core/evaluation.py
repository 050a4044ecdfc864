"""SemEval-2017 Task 4A metrics: AvgRec (official), F1PN, accuracy, per-class scores, confusion matrix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from service.core.labels import LABELS
from service.core.predictor import Predictor
from service.core.records import Record


def confusion_matrix(gold: Sequence[int], pred: Sequence[int], n: int = len(LABELS)) -> np.ndarray:
    """(n, n) counts, rows = gold, columns = predicted."""
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(gold, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return cm


def scores_from_confusion(cm: np.ndarray, labels: Sequence[str] = LABELS) -> dict[str, Any]:
    tp = np.diag(cm).astype(float)
    gold_n = cm.sum(axis=1).astype(float)
    pred_n = cm.sum(axis=0).astype(float)
    recall = np.divide(tp, gold_n, out=np.zeros_like(tp), where=gold_n > 0)
    precision = np.divide(tp, pred_n, out=np.zeros_like(tp), where=pred_n > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    idx = {name: i for i, name in enumerate(labels)}
    n = int(cm.sum())
    return {
        "n": n,
        "avg_recall": float(recall.mean()),
        "f1_pn": float((f1[idx["positive"]] + f1[idx["negative"]]) / 2),
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(gold_n[i]),
            }
            for i, name in enumerate(labels)
        },
        "labels": list(labels),
        "confusion_matrix": cm.tolist(),
    }


def evaluate_predictions(gold: Sequence[int], pred: Sequence[int], labels: Sequence[str] = LABELS) -> dict[str, Any]:
    return scores_from_confusion(confusion_matrix(gold, pred, len(labels)), labels)


def evaluate_records(records: Iterable[Record], predictor: Predictor) -> dict[str, Any]:
    """Score the labelled records with `predictor` and compute the metrics. Bad rows and rows without a valid label
    are counted (``skipped_rows``, the first ten in ``skipped_examples``), not scored. Raises ValueError when no row
    is left to score."""
    texts, gold, bad = [], [], []
    for rec in records:
        if rec.bad:
            bad.append(str(rec.error))
        elif rec.label not in LABELS:
            bad.append(f"line {rec.line}: no valid label ({rec.label!r})")
        else:
            texts.append(rec.text or "")
            gold.append(LABELS.index(rec.label))
    if not texts:
        raise ValueError("no labelled rows to evaluate" + (f" (first problem: {bad[0]})" if bad else ""))
    probs = predictor.predict_proba(texts)  # (N, C) in the model's label order
    pred = [LABELS.index(predictor.labels[i]) for i in probs.argmax(axis=1)]
    result = evaluate_predictions(gold, pred)
    result.update({"skipped_rows": len(bad), "skipped_examples": bad[:10]})
    return result


def expected_calibration_error(probs: np.ndarray, gold: Sequence[int], bins: int = 15) -> float:
    """ECE over confidence bins: sum_b |acc_b - conf_b| * n_b / N. probs: (N, C)."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == np.asarray(gold)).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in pairwise(edges):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += abs(correct[m].mean() - conf[m].mean()) * m.mean()
    return float(ece)


def format_report(m: dict[str, Any]) -> str:
    """Human-readable report: headline metrics, per-class table, confusion matrix."""
    labels = m["labels"]
    lines = [
        f"n = {m['n']}",
        f"AvgRec (macro recall)  {m['avg_recall']:.4f}",
        f"F1PN (pos/neg macro F1) {m['f1_pn']:.4f}",
        f"Accuracy               {m['accuracy']:.4f}",
        "",
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name in labels:
        c = m["per_class"][name]
        lines.append(f"{name:<10}{c['precision']:>10.4f}{c['recall']:>10.4f}{c['f1']:>10.4f}{c['support']:>10}")
    lines += [
        "",
        "confusion matrix (rows = gold, columns = predicted)",
        " " * 10 + "".join(f"{x:>10}" for x in labels),
    ]
    for name, row in zip(labels, m["confusion_matrix"], strict=True):
        lines.append(f"{name:<10}" + "".join(f"{v:>10}" for v in row))
    return "\n".join(lines)
