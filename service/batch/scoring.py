"""`sentiment score`: stream an input file through the model into an output file, exactly once, resumably.

* Streaming: records are read one at a time and scored in windows of ``window`` rows (sorted by length inside a
  window by the `Predictor` to cut padding); memory stays flat whatever the input size.
* Output: ``.jsonl``, ``.csv`` or ``.parquet`` by extension (``-`` = JSONL on stdout). Every row keeps its input
  fields and id, in input order, and gets ``label``, ``scores`` and ``model_version``. An input column called
  ``label`` (a gold label, e.g. SemEval) is kept as ``input_label``.
* Exactly once: rows go to ``OUTPUT.partial`` (parquet: ``OUTPUT.partial.parts/part-NNNNNN.parquet``) and are
  committed one window at a time: data fsynced, then the journal ``OUTPUT.partial.journal.json`` (input and model
  fingerprints, records done, committed byte offsets) is replaced atomically. ``--resume`` truncates the output to
  the last committed offset, skips the records already done and goes on; the output gets its final name (atomic
  rename) only when the job is complete. A changed input, model or option since the first run is refused.
* Bad rows (missing text, invalid JSON, undecodable bytes...) are never dropped silently: with ``on_error="skip"``
  they go to ``OUTPUT.rejects.jsonl`` with their line numbers, with ``"fail"`` the job stops at the first one
  (everything committed before it is kept and resumable).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import itertools
import json
import math
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tqdm import tqdm

from service.batch.readers import read_records, resolve_format
from service.core.artifact import Artifact
from service.core.predictor import InvalidScores, Predictor, label_rows
from service.core.records import Record, partition

JOURNAL_VERSION = 1
OUTPUT_FORMATS = ("jsonl", "csv", "parquet")


class ScoringError(RuntimeError):
    """The job cannot go on (bad row with --on-error fail, refused resume, unwritable output...)."""


class ScoringSettings(BaseSettings):
    """Defaults of `sentiment score` (env ``SENTIMENT_SCORE_*``; CLI flags override)."""

    model_config = SettingsConfigDict(env_prefix="SENTIMENT_SCORE_", extra="ignore")

    batch_size: int = Field(256, ge=1, description="texts per model forward")
    window: int = Field(4096, ge=1, description="rows read, length-sorted, scored and committed together")
    on_error: str = Field("skip", pattern="^(skip|fail)$", description="bad rows: skip into rejects, or fail")


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


class Scorer(Protocol):
    """What the job needs from a model: its labels, a version and fingerprint for the journal, and probabilities."""

    labels: list[str]
    version: str

    def fingerprint(self) -> dict[str, Any]: ...

    def predict_proba(self, texts: list[str]) -> np.ndarray: ...  # (N, C) in input order


def scored_version(artifact: Artifact) -> str:
    """The ``model_version`` of every output row: int8 answers are marked (``+int8``) on every engine."""
    return artifact.manifest.version + ("+int8" if artifact.precision == "int8" else "")


class ModelScorer:
    """The local model: length-sorted batches of `batch_size` through the TorchScript module."""

    def __init__(self, artifact: Artifact, batch_size: int = 256) -> None:
        self.artifact = artifact
        self.predictor = Predictor(artifact, max_batch_size=batch_size)
        self.labels = list(artifact.labels)
        self.version = scored_version(artifact)

    def fingerprint(self) -> dict[str, Any]:
        return model_fingerprint(self.artifact)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.predictor.predict_proba(texts)


# ---------------------------------------------------------------------------------------------- output rows


def output_format(path: str) -> str:
    if path == "-":
        return "jsonl"
    name = path.lower()
    for ext, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".csv", "csv"), (".parquet", "parquet")):
        if name.endswith(ext):
            return fmt
    raise ScoringError(f"cannot tell the output format of {path!r}: use .jsonl, .csv or .parquet (or - for stdout)")


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


def reject_row(rec: Record) -> dict[str, Any]:
    return {"line": rec.line, "id": rec.id, "error": rec.error}


class _TextSink:
    """JSONL / CSV rows appended to one file; a commit fsyncs and returns the byte offset reached."""

    def __init__(self, fh: IO[bytes], fmt: str, csv_fields: list[str] | None = None) -> None:
        self.fh = fh
        self.fmt = fmt
        self.csv_fields = csv_fields

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.fmt == "jsonl":
            text = "".join(json_line(r) + "\n" for r in rows)
            self.fh.write(text.encode("utf-8", "surrogateescape"))
            return
        buf = io.StringIO()
        flat_rows = [_flatten_for_csv(r) for r in rows]
        if self.csv_fields is None:
            self.csv_fields = list(flat_rows[0])
            csv.writer(buf).writerow(self.csv_fields)
        w = csv.DictWriter(buf, fieldnames=self.csv_fields, extrasaction="ignore", restval="")
        w.writerows(flat_rows)
        self.fh.write(buf.getvalue().encode("utf-8", "surrogateescape"))

    def commit(self) -> int:
        self.fh.flush()
        with contextlib.suppress(OSError, io.UnsupportedOperation):  # stdout, pipes
            os.fsync(self.fh.fileno())
        try:
            return self.fh.tell()
        except (OSError, io.UnsupportedOperation):
            return 0


def _flatten_for_csv(row: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in row.items():
        if k == "scores":
            flat.update({f"score_{lab}": p for lab, p in v.items()})
        elif isinstance(v, dict | list):
            flat[k] = json_line(v)
        else:
            flat[k] = v
    return flat


class _ParquetSink:
    """Parquet rows as committed part files (one per window), merged into one file when the job is complete."""

    def __init__(self, parts_dir: Path, next_part: int = 0) -> None:
        self.parts_dir = parts_dir
        self.next_part = next_part
        self._pending: list[dict[str, Any]] = []

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._pending.extend(rows)

    def commit(self) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pending:
            try:
                table = pa.Table.from_pylist(self._pending)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                raise ScoringError(f"cannot write these rows as parquet (mixed types in a column?): {e}") from e
            part = self.parts_dir / f"part-{self.next_part:06d}.parquet"
            tmp = part.with_suffix(".tmp")
            pq.write_table(table, tmp)
            _fsync_path(tmp)
            os.replace(tmp, part)
            self.next_part += 1
            self._pending = []
        return self.next_part

    def merge_into(self, dest: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = sorted(self.parts_dir.glob("part-*.parquet"))
        if not parts:
            pq.write_table(pa.table({}), dest)
            return
        schema = pa.unify_schemas([pq.read_schema(p) for p in parts], promote_options="permissive")
        with pq.ParquetWriter(dest, schema) as writer:
            for p in parts:
                try:
                    writer.write_table(pq.read_table(p).cast(schema))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                    raise ScoringError(f"cannot merge {p} into one parquet file (column types differ): {e}") from e
        _fsync_path(dest)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync_path(path)


# -------------------------------------------------------------------------------------- fingerprints, journal


def input_fingerprint(path: str) -> tuple[dict[str, Any], int | None]:
    """sha256 + size + mtime of the input file, and its number of lines (an ETA hint; None for parquet)."""
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


def model_fingerprint(artifact: Artifact) -> dict[str, Any]:
    m = artifact.manifest
    return {
        "name": m.name,
        "version": m.version,
        "precision": artifact.precision,
        "sha256": artifact.weights_sha256,
        "files": dict(m.files),
    }


@dataclass
class Journal:
    path: Path
    data: dict[str, Any]

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
        _fsync_dir(self.path.parent)


def _check_resume(
    journal: Journal, fingerprint: dict[str, Any], model: dict[str, Any], options: dict[str, Any]
) -> None:
    old = journal.data
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


# ----------------------------------------------------------------------------------------------- the job


def _windows(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while True:
        window = list(itertools.islice(records, size))
        if not window:
            return
        yield window


@dataclass
class _Paths:
    output: Path
    partial: Path
    parts: Path
    journal: Path
    rejects: Path
    rejects_partial: Path

    @classmethod
    def of(cls, output: str) -> _Paths:
        out = Path(output)
        return cls(
            out,
            Path(output + ".partial"),
            Path(output + ".partial.parts"),
            Path(output + ".partial.journal.json"),
            Path(output + ".rejects.jsonl"),
            Path(output + ".rejects.jsonl.partial"),
        )

    def clear(self) -> None:
        for p in (self.partial, self.journal, self.rejects_partial):
            p.unlink(missing_ok=True)
        if self.parts.exists():
            shutil.rmtree(self.parts)


def score_file(
    model: Artifact | Scorer,
    input_path: str,
    output_path: str,
    *,
    fmt: str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    batch_size: int = 256,
    window: int = 4096,
    on_error: str = "skip",
    resume: bool = False,
    restart: bool = False,
    progress: bool = True,
    max_windows: int | None = None,
) -> ScoreSummary:
    """Score `input_path` into `output_path` (see the module doc). `max_windows` stops early (tests, benchmarks)."""
    if on_error not in ("skip", "fail"):
        raise ValueError("on_error must be 'skip' or 'fail'")
    out_fmt = output_format(output_path)
    in_fmt = resolve_format(input_path, fmt)
    scorer: Scorer = ModelScorer(model, batch_size) if isinstance(model, Artifact) else model
    labels, version = list(scorer.labels), scorer.version
    summary = ScoreSummary(output=output_path)
    t0 = time.perf_counter()

    if output_path == "-":
        if resume:
            raise ScoringError("--resume needs an output file (stdout cannot be resumed)")
        return _score_stream(scorer, input_path, in_fmt, text_field, id_field, window, on_error, progress, summary)
    if input_path == "-" and resume:
        raise ScoringError("--resume needs an input file (stdin cannot be read twice)")
    paths = _Paths.of(output_path)
    paths.output.parent.mkdir(parents=True, exist_ok=True)
    fingerprint, total = input_fingerprint(input_path) if input_path != "-" else ({"path": "-", "sha256": None}, None)
    model_fp = scorer.fingerprint()
    options = {
        "format": in_fmt,
        "text_field": text_field,
        "id_field": id_field,
        "on_error": on_error,
        "output_format": out_fmt,
    }
    journal = Journal.load(paths.journal)
    if journal is not None and not resume:
        if not restart:
            done = journal.data["records_done"]
            raise ScoringError(
                f"{paths.partial} holds an interrupted run ({done:,} input records done): "
                "pass --resume to continue it, or --restart to discard it"
            )
        journal = None
    if journal is not None:
        _check_resume(journal, fingerprint, model_fp, options)
    else:
        paths.clear()
        journal = Journal(
            paths.journal,
            {
                "journal_version": JOURNAL_VERSION,
                "input": fingerprint,
                "model": model_fp,
                "options": options,
                "records_done": 0,
                "output_offset": 0,
                "rejects_offset": 0,
                "rows": 0,
                "rejected": 0,
                "labels": {},
                "csv_fields": None,
            },
        )
    state = journal.data
    done = state["records_done"]
    summary.resumed_from = done
    summary.rows, summary.rejected = state["rows"], state["rejected"]
    summary.labels.update(state["labels"])

    # open the sinks at the committed offsets (everything after them was never committed)
    sink: _TextSink | _ParquetSink
    out_fh: IO[bytes] | None = None
    if out_fmt == "parquet":
        paths.parts.mkdir(exist_ok=True)
        for p in paths.parts.iterdir():  # parts past the committed count, and temp files, were never committed
            if p.suffix != ".parquet" or int(p.stem.removeprefix("part-")) >= state["output_offset"]:
                p.unlink()
        sink = _ParquetSink(paths.parts, state["output_offset"])
    else:
        out_fh = open(paths.partial, "r+b" if paths.partial.exists() and done else "wb")
        out_fh.truncate(state["output_offset"])
        out_fh.seek(state["output_offset"])
        sink = _TextSink(out_fh, out_fmt, state["csv_fields"])
    rej_fh = open(paths.rejects_partial, "r+b" if paths.rejects_partial.exists() and done else "wb")
    rej_fh.truncate(state["rejects_offset"])
    rej_fh.seek(state["rejects_offset"])
    if journal.data["records_done"] == 0:
        journal.save()  # the run exists from now on: a crash before the first commit is resumable too

    bar = tqdm(
        desc="scoring",
        unit=" rows",
        total=total,
        initial=done,
        disable=not progress,
        dynamic_ncols=True,
        file=sys.stderr,
        smoothing=0.1,
    )
    try:
        records = itertools.islice(read_records(input_path, in_fmt, text_field, id_field), done, None)
        for n_win, chunk in enumerate(_windows(records, window)):
            if max_windows is not None and n_win >= max_windows:
                break
            good, bad = partition(chunk)
            if bad and on_error == "fail":
                raise ScoringError(
                    f"{input_path}: {bad[0].error}; stopped (rows before this window are kept: fix the input "
                    "and start over, or use --on-error skip to set bad rows aside)"
                )
            probs = scorer.predict_proba([r.text or "" for r in good])  # (N, C)
            rows = build_rows(good, probs, labels, version)
            sink.write(rows)
            if bad:
                rej_fh.write("".join(json.dumps(reject_row(r), ensure_ascii=False) + "\n" for r in bad).encode())
            # commit: data first (fsynced), then the journal that points past it
            state["output_offset"] = sink.commit()
            rej_fh.flush()
            os.fsync(rej_fh.fileno())
            state["rejects_offset"] = rej_fh.tell()
            summary.rows += len(good)
            summary.rejected += len(bad)
            summary.labels.update(r["label"] for r in rows)
            done += len(chunk)
            state.update(
                records_done=done,
                rows=summary.rows,
                rejected=summary.rejected,
                labels=dict(summary.labels),
                csv_fields=getattr(sink, "csv_fields", None),
            )
            journal.save()
            bar.update(len(chunk))
            bar.set_postfix(rejected=summary.rejected, refresh=False)
        else:
            _finish(paths, sink, out_fh, rej_fh, summary)
            out_fh = None
        summary.seconds = time.perf_counter() - t0
        return summary
    finally:
        bar.close()
        if out_fh is not None:
            out_fh.close()
        if not rej_fh.closed:
            rej_fh.close()


def _finish(paths: _Paths, sink: Any, out_fh: IO[bytes] | None, rej_fh: IO[bytes], summary: ScoreSummary) -> None:
    """All records done: give the output (and rejects) their final names, then drop the journal."""
    if isinstance(sink, _ParquetSink):
        sink.merge_into(paths.partial)
        os.replace(paths.partial, paths.output)
        shutil.rmtree(paths.parts)
    else:
        assert out_fh is not None
        out_fh.close()
        os.replace(paths.partial, paths.output)
    rej_fh.close()
    if summary.rejected:
        os.replace(paths.rejects_partial, paths.rejects)
        summary.rejects = str(paths.rejects)
    else:
        paths.rejects_partial.unlink(missing_ok=True)
        paths.rejects.unlink(missing_ok=True)  # a stale one from an earlier run would mislead
    _fsync_dir(paths.output.parent)
    paths.journal.unlink(missing_ok=True)


def _score_stream(
    scorer: Scorer,
    input_path: str,
    in_fmt: str,
    text_field: str,
    id_field: str,
    window: int,
    on_error: str,
    progress: bool,
    summary: ScoreSummary,
) -> ScoreSummary:
    """JSONL to stdout (no journal; bad rows reported on stderr)."""
    t0 = time.perf_counter()
    labels, version = list(scorer.labels), scorer.version
    sink = _TextSink(sys.stdout.buffer, "jsonl")
    bar = tqdm(desc="scoring", unit=" rows", disable=not progress, dynamic_ncols=True, file=sys.stderr)
    try:
        for chunk in _windows(read_records(input_path, in_fmt, text_field, id_field), window):
            good, bad = partition(chunk)
            if bad and on_error == "fail":
                raise ScoringError(f"{input_path}: {bad[0].error} (use --on-error skip to set bad rows aside)")
            for r in bad:
                print(f"rejected: {json.dumps(reject_row(r), ensure_ascii=False)}", file=sys.stderr)
            rows = build_rows(good, scorer.predict_proba([r.text or "" for r in good]), labels, version)
            sink.write(rows)
            sink.commit()
            summary.rows += len(good)
            summary.rejected += len(bad)
            summary.labels.update(r["label"] for r in rows)
            bar.update(len(chunk))
    finally:
        bar.close()
    summary.rejects = "stderr" if summary.rejected else None
    summary.seconds = time.perf_counter() - t0
    return summary
