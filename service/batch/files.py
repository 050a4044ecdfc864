"""The files of one scoring job and how they are made durable.

Rows go to ``OUTPUT.partial`` (Parquet: committed part files in ``OUTPUT.partial.parts/``), bad rows to
``OUTPUT.rejects.jsonl.partial``, progress to the journal ``OUTPUT.partial.journal.json``; the output and the
rejects get their final names (atomic renames) only when the job is complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fsync_path(path)


@dataclass(frozen=True)
class JobFiles:
    output: Path
    partial: Path
    parts: Path
    journal: Path
    rejects: Path
    rejects_partial: Path

    @classmethod
    def of(cls, output: str) -> JobFiles:
        out = output.rstrip("/" + os.sep)
        return cls(
            Path(out),
            Path(out + ".partial"),
            Path(out + ".partial.parts"),
            Path(out + ".partial.journal.json"),
            Path(out + ".rejects.jsonl"),
            Path(out + ".rejects.jsonl.partial"),
        )

    def clear(self) -> None:
        """Forget an interrupted run: its partial output, parts, rejects and journal."""
        for p in (self.partial, self.journal, self.rejects_partial):
            p.unlink(missing_ok=True)
        if self.parts.exists():
            shutil.rmtree(self.parts)
