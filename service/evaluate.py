"""`sentiment evaluate`: the official metrics of a model on a labelled SemEval-format file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.artifact import load_artifact
from service.metrics import evaluate_predictions
from service.predictor import Predictor
from service.readers import LABELS, InputFormatError, read_records


def evaluate_file(
    data: str,
    model_dir: str | Path,
    fmt: str | None = None,
    batch_size: int = 256,
    device: str = "auto",
    precision: str = "fp32",
) -> dict[str, Any]:
    """Score every labelled row of `data` and compute the metrics. Rows with errors are counted, not scored."""
    texts, gold, bad = [], [], []
    for rec in read_records(data, fmt or ("semeval" if data.lower().removesuffix(".gz").endswith(".tsv") else None)):
        if rec.error:
            bad.append(rec.error)
        elif rec.label not in LABELS:
            bad.append(f"line {rec.line}: no valid label ({rec.label!r})")
        else:
            texts.append(rec.text or "")
            gold.append(LABELS.index(rec.label))
    if not texts:
        raise InputFormatError(f"{data}: no labelled rows to evaluate" + (f" (first problem: {bad[0]})" if bad else ""))
    artifact = load_artifact(model_dir, device, precision=precision)
    predictor = Predictor(artifact, max_batch_size=batch_size)
    probs = predictor.predict_proba(texts)
    pred_labels = [artifact.labels[i] for i in probs.argmax(axis=1)]
    result = evaluate_predictions(gold, [LABELS.index(lab) for lab in pred_labels])
    result.update(
        {
            "data": data,
            "model": artifact.manifest.name,
            "model_version": artifact.manifest.version,
            "precision": artifact.precision,
            "skipped_rows": len(bad),
            "skipped_examples": bad[:10],
        }
    )
    return result
