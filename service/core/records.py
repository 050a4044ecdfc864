"""One input row, as every reader yields it, and the one meaning of a bad row shared by every engine."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_SURROGATE_RE = re.compile("[\ud800-\udfff]")  # undecodable bytes (surrogateescape) or a lone \\ud800 escape


def row_error(value: object) -> str | None:
    """The one meaning of "bad row", shared by every engine (local, Ray, via the API): a row is bad exactly when its
    error is a non-empty string. Every other value means a good row: None, and also the NaN float that Arrow and NumPy
    hand back for an all-null column (a Ray block without bad rows), pandas' NA or an empty string."""
    return value if isinstance(value, str) and value else None


@dataclass
class Record:
    index: int  # 0-based position among the data rows
    line: int  # 1-based line (row number for parquet), for messages
    id: str
    text: str | None
    label: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # all input fields, passed through to outputs
    error: str | None = None

    @property
    def bad(self) -> bool:
        return row_error(self.error) is not None


def partition(records: Sequence[Record]) -> tuple[list[Record], list[Record]]:
    """(good, bad) records, each in input order (the meaning of bad: `row_error`)."""
    good: list[Record] = []
    bad: list[Record] = []
    for r in records:
        (bad if r.bad else good).append(r)
    return good, bad


def mark_bad_text(rec: Record) -> Record:
    """Mark a record bad (with its line number) when its text is missing, not a string, not UTF-8 or empty."""
    if rec.error:
        return rec
    if rec.text is None:
        rec.error = f"line {rec.line}: missing text"
    elif not isinstance(rec.text, str):
        rec.error = f"line {rec.line}: text is {type(rec.text).__name__}, expected a string"
    elif _SURROGATE_RE.search(rec.text):
        rec.error = f"line {rec.line}: text is not valid UTF-8 (undecodable bytes or a lone surrogate escape)"
    elif not rec.text.strip():
        rec.error = f"line {rec.line}: text is empty"
    return rec
