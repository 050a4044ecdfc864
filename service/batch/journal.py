"""Exactly once: the journal of a scoring job, and the fingerprints that make a resume safe.

After each committed window the journal (input sha256/size/mtime, model sha256 and version, options, records done,
committed byte offsets) is replaced atomically. ``--resume`` reads it back, refuses a changed input, model or
option, and the job goes on from the last commit.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.batch.files import fsync_dir
from service.batch.rows import ScoringError

JOURNAL_VERSION = 1


def input_fingerprint(path: str) -> tuple[dict[str, Any], int | None]:
    """sha256 + size + mtime of the input file, and its number of lines (an ETA hint; rows for parquet)."""
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256()
    lines = 0
    gz = path.lower().endswith(".gz")
    last = b"\n"
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            if not gz:
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    lines += last != b"\n"  # no final newline
    if gz:
        with gzip.open(p, "rb") as g:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: g.read(1 << 20), b""))
    if path.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        with contextlib.suppress(Exception):  # unreadable parquet is reported by the reader
            lines = pq.ParquetFile(p).metadata.num_rows
    return {"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": h.hexdigest()}, lines


@dataclass
class Journal:
    path: Path
    data: dict[str, Any]

    @classmethod
    def new(cls, path: Path, fingerprint: dict[str, Any], model: dict[str, Any], options: dict[str, Any]) -> Journal:
        state = {"records_done": 0, "output_offset": 0, "rejects_offset": 0, "rows": 0, "rejected": 0}
        data = {"journal_version": JOURNAL_VERSION, "input": fingerprint, "model": model, "options": options}
        return cls(path, {**data, **state, "labels": {}, "csv_fields": None})

    @classmethod
    def load(cls, path: Path) -> Journal | None:
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ScoringError(f"the resume journal {path} is unreadable ({e}); delete it and start over") from e
        if data.get("journal_version") != JOURNAL_VERSION:
            raise ScoringError(f"{path} was written by another version of `sentiment score`; start over")
        return cls(path, data)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)

    def check_resume(self, fingerprint: dict[str, Any], model: dict[str, Any], options: dict[str, Any]) -> None:
        """Refuse to continue when the input, the model or an option changed since the first run."""
        old = self.data
        if old["input"]["sha256"] != fingerprint["sha256"] or old["input"]["size"] != fingerprint["size"]:
            raise ScoringError(
                f"refusing to resume: the input {fingerprint['path']} changed since the first run "
                f"(sha256 {old['input']['sha256'][:12]}… then, {fingerprint['sha256'][:12]}… now); "
                "start over without --resume (or with --restart)"
            )
        if old["model"]["sha256"] != model["sha256"] or old["model"]["version"] != model["version"]:
            raise ScoringError(
                f"refusing to resume: the model changed since the first run ({old['model']['version']} "
                f"{str(old['model']['sha256'])[:12]}… then, {model['version']} {str(model['sha256'])[:12]}… now); "
                "mixing two models in one output is not allowed; start over with --restart"
            )
        changed = {k for k in options if old["options"].get(k) != options[k]}
        if changed:
            diffs = ", ".join(f"{k}: {old['options'].get(k)!r} then, {options[k]!r} now" for k in sorted(changed))
            raise ScoringError(f"refusing to resume: options changed since the first run ({diffs})")
