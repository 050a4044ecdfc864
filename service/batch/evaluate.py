"""`sentiment evaluate`: the official metrics of a model on a labelled file (SemEval TSV, CSV or JSONL with a
``label`` column); the metric code is service/core/evaluation.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.batch.readers import InputFormatError, read_records, resolve_format
from service.core.artifact import load_artifact
from service.core.evaluation import evaluate_records
from service.core.predictor import Predictor


def evaluate_file(
    data: str,
    model_dir: str | Path,
    fmt: str | None = None,
    batch_size: int = 256,
    device: str = "auto",
    precision: str = "fp32",
) -> dict[str, Any]:
    """Score every labelled row of `data` (any input format) and compute the metrics; bad rows are counted."""
    if fmt is None and data.lower().removesuffix(".gz").endswith(".tsv"):
        fmt = "semeval"  # a .tsv here is labelled data: the SemEval layout unless it has a header row
    records = read_records(data, resolve_format(data, fmt))  # a missing or unknown input fails before the model loads
    artifact = load_artifact(model_dir, device, precision=precision)
    try:
        result = evaluate_records(records, Predictor(artifact, max_batch_size=batch_size))
    except InputFormatError:
        raise
    except ValueError as e:  # no labelled rows
        raise InputFormatError(f"{data}: {e}") from e
    result.update(
        {
            "data": data,
            "model": artifact.manifest.name,
            "model_version": artifact.manifest.version,
            "precision": artifact.precision,
        }
    )
    return result
