"""`sentiment score` on this machine: stream an input file through the model into an output file, exactly once and
resumably (the whole story: docs/batch-scoring.md).

* Streaming: records are read one at a time and scored in windows of ``window`` rows (sorted by length inside a
  window by the `Predictor`); memory stays flat whatever the input size.
* Exactly once: every window is committed (service/batch/job.py), the journal records how far the job got, and
  ``--resume`` continues from there after a crash or Ctrl-C; a changed input, model or option is refused.
* Bad rows are never dropped silently: rejects file (``on_error="skip"``) or a stop (``"fail"``).

The model can be any `Scorer`: the local artifact (`ModelScorer`) or a running service (engines/api.py).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from service.batch.files import JobFiles
from service.batch.job import JobOptions, Scorer, Window, progress_bar, run_windows
from service.batch.journal import Journal, input_fingerprint
from service.batch.model_info import model_fingerprint, scored_version
from service.batch.readers import read_records, resolve_format
from service.batch.rows import ScoreSummary, ScoringError
from service.batch.sinks import FileOutput, StreamOutput, output_format
from service.core.artifact import Artifact
from service.core.parallel import ParallelProba, use_cores
from service.core.predictor import Predictor
from service.core.records import Record, partition


class ModelScorer:
    """The local model: length-sorted batches of `batch_size` through the TorchScript module, each window scored
    as `threads` concurrent model calls (default: one per core, each with ``cores // threads`` intra-op threads,
    set process-wide; on a GPU one call). Same scores as one call (service/core/parallel.py)."""

    def __init__(self, artifact: Artifact, batch_size: int = 256, threads: int | None = None) -> None:
        self.artifact = artifact
        self.predictor = Predictor(artifact, max_batch_size=batch_size)
        calls = 1 if artifact.device.type != "cpu" else use_cores(threads)
        self.proba = ParallelProba(self.predictor, calls)
        self.labels = list(artifact.labels)
        self.version = scored_version(artifact)

    def fingerprint(self) -> dict[str, Any]:
        return model_fingerprint(self.artifact)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.proba(texts)


def read_windows(records: Iterator[Record], scorer: Scorer, size: int, source: str) -> Iterator[Window]:
    """Windows of `size` records, their good texts scored by `scorer` when the window is written."""
    while True:
        chunk = list(itertools.islice(records, size))
        if not chunk:
            return
        good, bad = partition(chunk)
        yield Window(chunk, good, bad, lambda good=good: scorer.predict_proba([r.text or "" for r in good]), source)


def score_file(
    model: Artifact | Scorer,
    input_path: str,
    output_path: str,
    options: JobOptions | None = None,
    *,
    batch_size: int = 256,
    **job: Any,
) -> ScoreSummary:
    """Score `input_path` into `output_path` (``-`` = JSON lines on stdout). `options` (or the same fields as
    keywords) say how; see the module docstring."""
    opts = options or JobOptions(**job)
    out_fmt = output_format(output_path)
    in_fmt = resolve_format(input_path, opts.fmt)
    scorer: Scorer = ModelScorer(model, batch_size) if isinstance(model, Artifact) else model
    summary = ScoreSummary(output=output_path)
    t0 = time.perf_counter()
    if opts.resume and "-" in (input_path, output_path):
        raise ScoringError("--resume needs an input and an output file (stdin and stdout cannot be read twice)")
    journal, output, total = _open(scorer, input_path, output_path, in_fmt, out_fmt, opts)
    done = journal.data["records_done"] if journal else 0
    summary.resumed_from = done
    if journal:
        summary.rows, summary.rejected = journal.data["rows"], journal.data["rejected"]
        summary.labels.update(journal.data["labels"])
    records = itertools.islice(read_records(input_path, in_fmt, opts.text_field, opts.id_field), done, None)
    limit: dict[str, bool] = {"stopped_early": False}
    windows = _take(read_windows(records, scorer, opts.window, input_path), opts.max_windows, limit)
    bar = progress_bar(opts.progress, total, done)
    try:
        run_windows(
            windows,
            output,
            summary,
            labels=list(scorer.labels),
            version=scorer.version,
            on_error=opts.on_error,
            bar=bar,
            journal=journal,
        )
        if not limit["stopped_early"]:
            summary.rejects = output.finish(summary.rejected)
            if journal:
                journal.path.unlink(missing_ok=True)
    finally:
        bar.close()
        output.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _open(
    scorer: Scorer, input_path: str, output_path: str, in_fmt: str, out_fmt: str, opts: JobOptions
) -> tuple[Journal | None, FileOutput | StreamOutput, int | None]:
    """The journal (new, or the interrupted run's when resuming), the output opened at its committed offsets, and the
    number of input lines (for the progress bar's ETA)."""
    if output_path == "-":
        return None, StreamOutput(), None
    files = JobFiles.of(output_path)
    files.output.parent.mkdir(parents=True, exist_ok=True)
    fingerprint, total = input_fingerprint(input_path) if input_path != "-" else ({"path": "-", "sha256": None}, None)
    model_fp = scorer.fingerprint()
    options = {
        "format": in_fmt,
        "text_field": opts.text_field,
        "id_field": opts.id_field,
        "on_error": opts.on_error,
        "output_format": out_fmt,
    }
    journal = Journal.load(files.journal)
    if journal is not None and not opts.resume:
        if not opts.restart:
            raise ScoringError(
                f"{files.partial} holds an interrupted run ({journal.data['records_done']:,} input records done): "
                "pass --resume to continue it, or --restart to discard it"
            )
        journal = None
    if journal is not None:
        journal.check_resume(fingerprint, model_fp, options)
    else:
        files.clear()
        journal = Journal.new(files.journal, fingerprint, model_fp, options)
    output = FileOutput(files, out_fmt, journal.data)
    if journal.data["records_done"] == 0:
        journal.save()  # the run exists from now on: a crash before the first commit is resumable too
    return journal, output, total


def _take(windows: Iterator[Window], n: int | None, limit: dict[str, bool]) -> Iterator[Window]:
    """At most `n` windows; ``limit["stopped_early"]`` tells whether input was left."""
    for i, w in enumerate(windows):
        if n is not None and i >= n:
            limit["stopped_early"] = True
            return
        yield w
