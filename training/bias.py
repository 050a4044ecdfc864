"""The decision rule for macro recall: per-class logit biases fitted on validation.

The task metric (AvgRec) is the mean of the per-class recalls; argmax of a model's scores optimises accuracy-like
criteria instead, and on later data the model over-predicts some classes (on the 2017 test, many neutrals were
called negative). A bias b (C,), with b[neutral] = 0, is added to the log-probabilities; it is picked by grid
search to maximise validation AvgRec, and the exported module adds it inside logits().
"""

from __future__ import annotations

import numpy as np

NEUTRAL = 1


def avg_recall_of(pred: np.ndarray, gold: np.ndarray, num_classes: int = 3) -> float:
    """Macro recall of predictions (N,) against gold (N,) (classes absent from gold count as recall 0)."""
    recalls = []
    for c in range(num_classes):
        m = gold == c
        recalls.append(float((pred[m] == c).mean()) if m.any() else 0.0)
    return float(np.mean(recalls))


def fit_class_bias(log_probs: np.ndarray, gold: np.ndarray, span: float = 1.5, step: float = 0.05) -> np.ndarray:
    """Bias (C,) with bias[neutral] = 0 maximising AvgRec of argmax(log_probs + bias) over a grid of step `step`
    in [-span, span] for the two other classes; ties keep the bias closest to zero (the grid is walked outwards)."""
    grid = np.arange(-span, span + step / 2, step)
    grid = grid[np.argsort(np.abs(grid), kind="stable")]  # 0, then +-step, ...: ties keep the smallest bias
    best, best_score = np.zeros(log_probs.shape[1]), avg_recall_of(log_probs.argmax(axis=1), gold)
    for b_neg in grid:
        for b_pos in grid:
            bias = np.array([b_neg, 0.0, b_pos])
            score = avg_recall_of((log_probs + bias).argmax(axis=1), gold)
            if score > best_score + 1e-9 and abs(b_neg) + abs(b_pos) > 0:
                best, best_score = bias, score
    return best
