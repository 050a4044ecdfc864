"""`sentiment evaluate`: the official metrics of a model on a labelled file (SemEval TSV, CSV or JSONL with a
``label`` column); the metric code is service/core/evaluation.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.batch.readers import InputFormatError, read_records, resolve_format
from service.core.artifact import load_artifact
from service.core.behaviour import build_suite, emoticon_swap_invariance, run_suite
from service.core.evaluation import evaluate_records
from service.core.predictor import Predictor


def labelled_format(data: str, fmt: str | None) -> str:
    """The input format of a labelled file: a .tsv here is the SemEval layout unless it has a header row."""
    if fmt is None and data.lower().removesuffix(".gz").endswith(".tsv"):
        fmt = "semeval"
    return resolve_format(data, fmt)


def evaluate_file(
    data: str,
    model_dir: str | Path,
    fmt: str | None = None,
    batch_size: int = 256,
    device: str = "auto",
    precision: str = "fp32",
) -> dict[str, Any]:
    """Score every labelled row of `data` (any input format) and compute the metrics; bad rows are counted."""
    records = read_records(data, labelled_format(data, fmt))  # a missing or unknown input fails before the model loads
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


def behaviour_file(
    model_dir: str | Path,
    data: str | None = None,
    fmt: str | None = None,
    device: str = "auto",
    precision: str = "fp32",
    max_cases: int = 60,
) -> dict[str, Any]:
    """The behavioural suite (service/core/behaviour.py) through the serving Predictor; with `data`, also the share
    of its texts with emoticons whose label survives swapping each emoticon for an equivalent emoji."""
    if max_cases < 1:
        raise InputFormatError(f"--max-cases must be at least 1, not {max_cases}")
    texts: list[str] = []
    if data:
        texts = [r.text for r in read_records(data, labelled_format(data, fmt)) if r.text and not r.error]
    artifact = load_artifact(model_dir, device, precision=precision)
    predictor = Predictor(artifact)
    results = run_suite(predictor.predict_proba, artifact.labels, build_suite(max_cases))
    out: dict[str, Any] = {
        "model": artifact.manifest.name,
        "model_version": artifact.manifest.version,
        "precision": artifact.precision,
        "results": results,
    }
    if data:
        out["emoticon_swap"] = emoticon_swap_invariance(predictor.predict_proba, texts)
    return out
