"""What a scoring job writes: one output row per scored record, one reject per bad record, the run's summary.

Every engine (local, Ray, via the API) builds its rows here, so ids, input fields, labels, scores (the API's
rounding) and ``model_version`` are the same whatever scored them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.core.predictor import InvalidScores, label_rows
from service.core.records import Record


class ScoringError(RuntimeError):
    """The job cannot go on (bad row with --on-error fail, refused resume, unwritable output...)."""


def build_rows(
    records: Sequence[Record], probs: np.ndarray, labels: Sequence[str], model_version: str
) -> list[dict[str, Any]]:
    """Output rows for scored records: id, the input fields (``label`` -> ``input_label``), label, scores, version.

    `probs` is (N, C) in record order; label and scores come from `predictor.label_rows` (the API's rounding and its
    check: a row that is not a finite probability distribution stops the job here, before anything is written).
    """
    if len(probs) != len(records):  # the batch contract: exactly one output per input
        raise ScoringError(f"the model returned {len(probs)} predictions for {len(records)} texts")
    try:
        scored = label_rows(probs, labels)
    except InvalidScores as e:
        where = ", ".join(f"line {records[i].line} (id {records[i].id})" for i in e.rows[:5])
        more = f" and {len(e.rows) - 5} more" if len(e.rows) > 5 else ""
        raise ScoringError(
            f"the model returned invalid scores (NaN, infinite or not summing to 1) for {len(e.rows)} of "
            f"{len(records)} rows of this window: {where}{more}; stopped, nothing of this window was written "
            f"(first row's scores: {np.asarray(probs[e.rows[0]]).tolist()})"
        ) from e
    rows = []
    for rec, pred in zip(records, scored, strict=True):
        row = {"id": rec.id, **rec.fields}
        if "label" in row:
            row["input_label"] = row.pop("label")
        row["id"] = rec.id
        row["label"] = pred["label"]
        row["scores"] = pred["scores"]
        row["model_version"] = model_version
        rows.append(row)
    return rows


def reject_row(rec: Record, file: str | None = None) -> dict[str, Any]:
    """The rejects-file line of a bad record (with its input file when the job reads several)."""
    return {**({"file": file} if file else {}), "line": rec.line, "id": rec.id, "error": rec.error}


def json_line(row: Any) -> str:
    """One row as strict JSON (RFC 8259: no NaN or Infinity tokens). Scores are always finite (checked by
    `build_rows`); a non-finite float passed through from the input's own fields becomes null."""
    try:
        return json.dumps(row, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_finite_or_null(row), ensure_ascii=False, default=str, allow_nan=False)


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_null(v) for v in value]
    return value


@dataclass
class ScoreSummary:
    rows: int = 0
    rejected: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    resumed_from: int = 0  # input records already done by an earlier run
    output: str = ""
    rejects: str | None = None

    @property
    def rows_per_second(self) -> float:
        return (self.rows + self.rejected - self.resumed_from) / self.seconds if self.seconds else 0.0

    def add(self, rows: list[dict[str, Any]], rejected: int) -> None:
        self.rows += len(rows)
        self.rejected += rejected
        self.labels.update(r["label"] for r in rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "rows": self.rows,
            "rejected": self.rejected,
            "rejects": self.rejects,
            "labels": dict(sorted(self.labels.items())),
            "resumed_from": self.resumed_from,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
        }

    def describe(self) -> str:
        total = sum(self.labels.values()) or 1
        mix = ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in sorted(self.labels.items()))
        text = f"scored {self.rows:,} rows -> {self.output} in {self.seconds:.1f} s"
        text += f" ({self.rows_per_second:,.0f} rows/s)"
        if self.resumed_from:
            text += f", resumed after {self.resumed_from:,} records"
        text += f"; labels: {mix or 'none'}"
        if self.rejected:
            text += f"; {self.rejected:,} bad rows set aside in {self.rejects}"
        return text
