"""The model card's plots: training curves per epoch (one line per ensemble member), the confusion matrix,
the reliability diagram before and after temperature scaling."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from service.core.evaluation import expected_calibration_error
from service.core.labels import LABELS


def plot_curves(history: list[dict[str, float]], path: Path) -> None:
    """Per-epoch curves; an ensemble's history rows carry a "member" index: one line per member."""
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    members = sorted({int(h.get("member", 0)) for h in history})
    for k in members:
        rows = [h for h in history if int(h.get("member", 0)) == k]
        epochs = [h["epoch"] for h in rows]
        tag = f" (member {k + 1})" if len(members) > 1 else ""
        ax[0].plot(epochs, [h["train_loss"] for h in rows], "o-", label=f"train loss (weighted){tag}")
        ax[0].plot(epochs, [h["val_loss"] for h in rows], "s--", label=f"validation NLL{tag}")
        ax[1].plot(epochs, [h["val_avg_recall"] for h in rows], "o-", label=f"val AvgRec{tag}")
        ax[1].plot(epochs, [h["val_f1_pn"] for h in rows], "s--", label=f"val F1PN{tag}")
        ax[2].plot(epochs, [h["grad_norm_mean"] for h in rows], "o-", label=f"mean{tag}")
        ax[2].plot(epochs, [h["grad_norm_max"] for h in rows], "s--", label=f"max{tag}")
    ax[0].set_title("loss")
    ax[0].legend(fontsize=7)
    ax[1].set_title("validation metrics")
    ax[1].legend(fontsize=7)
    ax[2].set_title("gradient norm before clipping")
    ax[2].legend(fontsize=7)
    for a in ax:
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(cm: list[list[int]], path: Path, part: str = "internal test") -> None:
    arr = np.array(cm)
    norm = arr / arr.sum(axis=1, keepdims=True)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(3):
        for j in range(3):
            ax.text(
                j,
                i,
                f"{arr[i, j]}\n{norm[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(3), LABELS)
    ax.set_yticks(range(3), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"{part}: confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def reliability_bins(probs: np.ndarray, gold: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    conf, correct = probs.max(axis=1), (probs.argmax(axis=1) == gold)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    acc = np.array([correct[idx == b].mean() if (idx == b).any() else np.nan for b in range(bins)])
    mean_conf = np.array([conf[idx == b].mean() if (idx == b).any() else np.nan for b in range(bins)])
    count = np.array([(idx == b).sum() for b in range(bins)])
    return mean_conf, acc, count


def plot_reliability(
    raw: np.ndarray, cal: np.ndarray, gold: np.ndarray, temperature: float, path: Path, part: str = "internal test"
) -> None:
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    for probs, name in ((raw, "before (T=1)"), (cal, f"after (T={temperature:.2f})")):
        conf, acc, _ = reliability_bins(probs, gold)
        ece = expected_calibration_error(probs, gold.tolist())
        ax.plot(conf, acc, "o-", label=f"{name}, ECE {ece:.3f}")
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability diagram ({part})")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
