"""Scoring a split through the serving loop, and what is fitted on validation after training: the class bias
(the decision rule for macro recall) and the temperature; the metrics of a split."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from service.core.evaluation import evaluate_predictions, expected_calibration_error
from service.core.labels import LABELS
from service.core.predictor import forward_sorted
from training.batches import Tensors
from training.bias import fit_class_bias


def predict_logits(model: nn.Module, t: Tensors, device: torch.device, batch_size: int = 512) -> torch.Tensor:
    """Unscaled class scores (N, C) of a split, through the serving loop (length-sorted chunks)."""
    model.eval()
    return torch.from_numpy(forward_sorted(model.logits, t.encoded, batch_size, device, len(LABELS)))


T_MIN, T_MAX = 0.05, 20.0


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Temperature in [T_MIN, T_MAX] minimising validation NLL (LBFGS on log T, kept inside the bounds: a model
    no better than chance would otherwise drive T to infinity and the search to NaN)."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)
    nll = nn.CrossEntropyLoss()
    bounds = (math.log(T_MIN), math.log(T_MAX))

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nll(logits / log_t.clamp(*bounds).exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.detach().clamp(*bounds).exp())
    return min(max(t, T_MIN), T_MAX) if math.isfinite(t) else 1.0


def split_metrics(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> dict[str, Any]:
    probs = torch.softmax(logits / temperature, dim=1).numpy()
    m = evaluate_predictions(labels.tolist(), probs.argmax(axis=1).tolist())
    m["ece"] = expected_calibration_error(probs, labels.tolist())
    m["nll"] = float(nn.functional.cross_entropy(logits / temperature, labels))
    return m


def decide(
    model: nn.Module, val_logits: torch.Tensor, test_logits: torch.Tensor, val_labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit the per-class logit bias on validation (the decision rule for macro recall), store it in the model
    (added inside logits()) and return the biased validation and test logits."""
    bias = torch.from_numpy(fit_class_bias(val_logits.numpy(), val_labels.numpy())).float()  # (C,)
    model.class_bias.copy_(bias)
    return val_logits + bias, test_logits + bias
