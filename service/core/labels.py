"""The three classes, in the order of every model's output columns and every metric's rows."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
