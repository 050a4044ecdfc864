"""The one window loop of every scoring engine.

An engine turns its input into `Window`s (records in input order, split into good and bad, and the good ones'
probabilities); `run_windows` writes each window's rows and rejects, commits it (data fsynced, then the journal
when the job is resumable), counts it and moves the progress bar. The local engine and the via-API engine feed it
windows read and scored here (service/batch/engines/local.py), the Ray engine windows scored by its actors.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tqdm import tqdm

from service.batch.journal import Journal
from service.batch.rows import ScoreSummary, ScoringError, build_rows, reject_row
from service.core.records import Record


class ScoringSettings(BaseSettings):
    """Defaults of `sentiment score` (env ``SENTIMENT_SCORE_*``; CLI flags override)."""

    model_config = SettingsConfigDict(env_prefix="SENTIMENT_SCORE_", extra="ignore")

    batch_size: int = Field(256, ge=1, description="texts per model forward")
    window: int = Field(4096, ge=1, description="rows read, length-sorted, scored and committed together")
    on_error: str = Field("skip", pattern="^(skip|fail)$", description="bad rows: skip into rejects, or fail")


@dataclass(frozen=True)
class JobOptions:
    """What every engine is asked to do, besides the model: how to read the input, window size, bad rows."""

    fmt: str | None = None  # input format (default: by extension; jsonl for stdin)
    text_field: str = "text"
    id_field: str = "id"
    window: int = 4096  # records read, scored and committed together
    on_error: str = "skip"  # skip: bad rows into OUTPUT.rejects.jsonl; fail: stop at the first one
    resume: bool = False  # continue an interrupted run (local and via-API engines)
    restart: bool = False  # discard an interrupted run
    progress: bool = True
    max_windows: int | None = None  # stop early (tests, benchmarks)

    def __post_init__(self) -> None:
        if self.on_error not in ("skip", "fail"):
            raise ValueError("on_error must be 'skip' or 'fail'")
        if self.window < 1:
            raise ValueError("window must be >= 1")


class Scorer(Protocol):
    """What the local job needs from a model: its labels, a version and fingerprint for the journal, and
    probabilities."""

    labels: list[str]
    version: str

    def fingerprint(self) -> dict[str, Any]: ...

    def predict_proba(self, texts: list[str]) -> np.ndarray: ...  # (N, C) in input order


@dataclass
class Window:
    records: list[Record]  # every record of the window, in input order
    good: list[Record]
    bad: list[Record]
    probs: Callable[[], np.ndarray]  # (len(good), C): asked for only when the window is written
    source: str = ""  # the input the window came from (for messages)
    bad_files: list[str] | None = None  # per bad record, its input file (inputs of several files)


class Output(Protocol):
    def write(self, rows: list[dict[str, Any]], rejects: list[dict[str, Any]]) -> None: ...

    def commit(self) -> dict[str, Any]: ...

    def finish(self, rejected: int) -> str | None: ...

    def close(self) -> None: ...


def progress_bar(progress: bool, total: int | None = None, initial: int = 0, desc: str = "scoring") -> tqdm:
    return tqdm(
        desc=desc,
        unit=" rows",
        total=total,
        initial=initial,
        disable=not progress,
        dynamic_ncols=True,
        file=sys.stderr,
        smoothing=0.1,
    )


def run_windows(
    windows: Iterable[Window],
    output: Output,
    summary: ScoreSummary,
    *,
    labels: list[str],
    version: str,
    on_error: str,
    bar: tqdm,
    journal: Journal | None = None,
) -> None:
    """Write and commit every window (see the module docstring). Raises ScoringError on a bad row with
    ``on_error="fail"`` or invalid scores; everything committed before stays (and is resumable with a journal)."""
    for w in windows:
        if w.bad and on_error == "fail":
            where = w.bad_files[0] if w.bad_files else w.source
            raise ScoringError(
                f"{where}: {w.bad[0].error}; stopped (rows before this window are kept: fix the input and start "
                "over, or use --on-error skip to set bad rows aside)"
            )
        rows = build_rows(w.good, w.probs(), labels, version)
        files = w.bad_files or [None] * len(w.bad)
        output.write(rows, [reject_row(r, f) for r, f in zip(w.bad, files, strict=True)])
        offsets = output.commit()
        summary.add(rows, len(w.bad))
        if journal is not None:
            state = journal.data
            state.update(offsets, records_done=state["records_done"] + len(w.records))
            state.update(rows=summary.rows, rejected=summary.rejected, labels=dict(summary.labels))
            journal.save()
        bar.update(len(w.records))
        bar.set_postfix(rejected=summary.rejected, refresh=False)
