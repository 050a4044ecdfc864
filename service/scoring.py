"""`sentiment score`: stream an input file through the model into an output file.

Rows are read one at a time, scored in windows (sorted by length inside a window to cut padding), and
written in input order. The output appears under its final name only when the job is complete (written to
``OUTPUT.partial`` and renamed). Rows that cannot be scored are reported with their line numbers: skipped into
``OUTPUT.rejects.jsonl`` (``--on-error skip``, default) or the job stops (``--on-error fail``).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from service.artifact import Artifact
from service.predictor import Predictor
from service.readers import Record, read_records


class ScoringError(RuntimeError):
    pass


@dataclass
class ScoreSummary:
    rows: int = 0
    rejected: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "rejected": self.rejected,
            "labels": dict(self.labels),
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
        }


def _windows(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    window: list[Record] = []
    for rec in records:
        window.append(rec)
        if len(window) >= size:
            yield window
            window = []
    if window:
        yield window


def output_row(rec: Record, label: str, scores: dict[str, float], model_version: str) -> dict[str, Any]:
    row = dict(rec.fields)
    row["id"] = rec.id
    row["label"] = label
    row["scores"] = scores
    row["model_version"] = model_version
    return row


class RowWriter:
    """Writes JSONL or CSV rows by the output's extension (``-`` = JSONL on stdout)."""

    def __init__(self, path: str, fh: IO[str]) -> None:
        self.fmt = "csv" if path.lower().endswith(".csv") else "jsonl"
        self.fh = fh
        self._csv: csv.DictWriter[str] | None = None

    def write(self, row: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        flat = {k: v for k, v in row.items() if k != "scores"}
        flat.update({f"score_{k}": v for k, v in row["scores"].items()})
        if self._csv is None:
            self._csv = csv.DictWriter(self.fh, fieldnames=list(flat), extrasaction="ignore")
            self._csv.writeheader()
        self._csv.writerow(flat)


def score_file(
    artifact: Artifact,
    input_path: str,
    output_path: str,
    *,
    fmt: str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    batch_size: int = 256,
    window: int = 4096,
    on_error: str = "skip",
    progress: bool = True,
) -> ScoreSummary:
    if on_error not in ("skip", "fail"):
        raise ValueError("on_error must be 'skip' or 'fail'")
    predictor = Predictor(artifact, max_batch_size=batch_size)
    version = artifact.manifest.version
    summary = ScoreSummary()
    t0 = time.perf_counter()
    to_stdout = output_path == "-"
    partial = Path(output_path + ".partial") if not to_stdout else None
    rejects_path = Path(output_path + ".rejects.jsonl") if not to_stdout else None
    out = sys.stdout if to_stdout else open(partial, "w", encoding="utf-8", newline="")  # type: ignore[arg-type]
    rejects: IO[str] | None = None
    bar = tqdm(desc="scoring", unit=" rows", disable=not progress, dynamic_ncols=True, file=sys.stderr)
    try:
        writer = RowWriter(output_path, out)
        for chunk in _windows(read_records(input_path, fmt, text_field, id_field), window):
            good = [r for r in chunk if not r.error]
            bad = [r for r in chunk if r.error]
            if bad and on_error == "fail":
                raise ScoringError(f"{input_path}: {bad[0].error} (use --on-error skip to set bad rows aside)")
            for rec in bad:
                if rejects is None:
                    rejects = open(rejects_path, "w", encoding="utf-8") if rejects_path else sys.stderr
                rejects.write(json.dumps({"line": rec.line, "id": rec.id, "error": rec.error}) + "\n")
            preds = predictor.predict([r.text or "" for r in good])
            for rec, pred in zip(good, preds, strict=True):
                writer.write(output_row(rec, pred.label, pred.scores, version))
                summary.labels[pred.label] += 1
            summary.rows += len(good)
            summary.rejected += len(bad)
            bar.update(len(chunk))
        out.flush()
        if partial is not None:
            os.fsync(out.fileno())
            out.close()
            os.replace(partial, output_path)
    except BaseException:
        if partial is not None:
            out.close()
        raise
    finally:
        bar.close()
        if rejects is not None and rejects is not sys.stderr:
            rejects.close()
    summary.seconds = time.perf_counter() - t0
    return summary
