"""What training minimises besides the plain loss: class weights, distillation from the TF-IDF teacher,
adversarial perturbation of the embeddings, and the moving average of the weights that gets exported."""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from service.core.labels import LABELS
from training.config import TrainConfig
from training.data import Splits
from training.model import SentimentRNN


def class_weights(labels: torch.Tensor, mode: str) -> torch.Tensor | None:
    if mode == "none":
        return None
    counts = torch.bincount(labels, minlength=len(LABELS)).float()
    w = counts.sum() / (len(LABELS) * counts)
    return w.sqrt() if mode == "sqrt" else w


class DistillLoss(nn.Module):
    """(1 - a) * the hard-label loss + a * cross-entropy against a teacher's probabilities (B, C), each text
    weighted by its gold class's weight, as the hard-label loss is."""

    def __init__(self, hard: nn.Module, teacher: torch.Tensor, weights: torch.Tensor | None, alpha: float) -> None:
        super().__init__()
        self.hard, self.teacher, self.weights, self.alpha = hard, teacher, weights, alpha

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        soft = -(self.teacher * torch.log_softmax(logits, dim=1)).sum(dim=1)  # (B,)
        w = torch.ones_like(soft) if self.weights is None else self.weights.to(soft.device)[y]  # (B,)
        return (1 - self.alpha) * self.hard(logits, y) + self.alpha * (w * soft).sum() / w.sum()


def teacher_probs(splits: Splits, cfg: TrainConfig) -> torch.Tensor:
    """The TF-IDF + LR baseline's probabilities on the training split (N, C), cached under build/cache by a hash
    of the training texts and labels (fitting takes a few minutes on one core)."""
    from training.baselines import tfidf_train_probs  # scikit-learn: imported only when distilling

    texts, labels = [ex.text for ex in splits.train], [ex.label for ex in splits.train]
    key = hashlib.sha256(json.dumps([texts, labels]).encode()).hexdigest()[:16]
    cache = Path(__file__).resolve().parent.parent / "build" / "cache" / f"tfidf-train-probs-{key}.npy"
    if cache.exists():
        probs = np.load(cache, allow_pickle=False)
    else:
        t0 = time.time()
        tqdm.write("fitting the TF-IDF + LR teacher for distillation ...", file=sys.stderr)
        probs = tfidf_train_probs(texts, labels)
        tqdm.write(f"teacher fitted in {time.time() - t0:.0f}s", file=sys.stderr)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, probs, allow_pickle=False)
    return torch.from_numpy(probs).float()


def adversarial_step(
    model: SentimentRNN,
    loss_fn: nn.Module,
    word: torch.Tensor,
    sub: torch.Tensor,
    lengths: torch.Tensor,
    y: torch.Tensor,
    eps: float,
) -> torch.Tensor:
    """Adversarial training on the embeddings (Miyato et al., 2017): backpropagate the clean loss, then the loss
    of the same batch with the embeddings pushed by eps along their own gradient (L2-normalised per text).
    Accumulates both gradients; returns the clean loss. The linear branch, if any, sees only the clean pass."""
    x = model.embed(word, sub)  # (B, T, E)
    x.retain_grad()
    loss = loss_fn(model.logits_from_embedded(x, word, sub, lengths), y)
    loss.backward(retain_graph=True)
    assert x.grad is not None
    g = x.grad.detach()  # (B, T, E)
    r = eps * g / g.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1)  # (B, T, E), |r| = eps per text
    loss_fn(model.classify(x + r, word, sub, lengths), y).backward()
    return loss.detach()


class EMA:
    """Exponential moving average of the weights (Polyak averaging), with the usual warm-up of the decay so
    that the random initialisation does not linger: decay_t = min(decay, (1 + t) / (10 + t))."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model)
        self.decay, self.steps = decay, 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for avg, p in zip(self.model.parameters(), model.parameters(), strict=True):
            avg.mul_(d).add_(p.detach(), alpha=1 - d)
