"""Worker-written output of the Ray engine: one committed shard per piece of input (service/batch/splits.py).

A worker reads its piece, scores it window by window, and commits, in this order (each a temp name, fsync, rename):

* ``part-FFFFF-PPPPP.parquet`` (or ``.jsonl``): the rows, built by the same `build_rows` as every engine;
* ``_part-FFFFF-PPPPP.rejects.jsonl``: its bad rows (only when it has some);
* ``_part-FFFFF-PPPPP.json``: the shard's record (rows, rejects, labels, sha256 of both files, the input range).
  The record is the commit: a shard without one, or whose file's sha256 differs, was never committed.

The driver only plans pieces and collects these records; at the end it merges the rejects (small), writes the job
manifest ``_manifest.json`` last and renames the staging directory to the output (or, for a one-file output, merges
the shards in order into it: service/batch/merge.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from service.batch.files import fsync_dir, fsync_path
from service.batch.readers import read_range
from service.batch.rows import ScoringError, build_rows, reject_row
from service.batch.sinks import TextSink
from service.core.manifest import sha256_file
from service.core.records import Record, partition

MANIFEST = "_manifest.json"


def shard_file(staging: Path, name: str, fmt: str) -> Path:
    return staging / f"{name}.{'parquet' if fmt == 'parquet' else 'jsonl'}"


def record_file(staging: Path, name: str) -> Path:
    return staging / f"_{name}.json"


def rejects_file(staging: Path, name: str) -> Path:
    return staging / f"_{name}.rejects.jsonl"


def _commit(tmp: Path, final: Path) -> None:
    fsync_path(tmp)
    os.replace(tmp, final)


def score_piece(
    piece: dict[str, Any],
    proba: Callable[[list[str]], np.ndarray],
    *,
    labels: list[str],
    version: str,
    staging: Path,
    shard_fmt: str,
    options: dict[str, Any],
    many_files: bool,
) -> dict[str, Any]:
    """Read, score and commit one piece (see the module docstring). Returns its record, or ``{"failed": message}``
    at its first bad row when ``on_error`` is ``fail`` (nothing of the piece is committed then)."""
    name = f"part-{piece['file_no']:05d}-{piece['part_no']:05d}"
    t0 = time.perf_counter()
    records = read_range(
        piece["path"],
        piece["fmt"],
        options["text_field"],
        options["id_field"],
        start=piece["start"],
        end=piece["end"],
        line0=piece["line0"],
        index0=piece["index0"],
        header=piece["header"],
    )
    out = shard_file(staging, name, shard_fmt)
    tmp = out.with_name(out.name + ".tmp")
    rejects: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    n_rows = n_records = 0
    tables: list[Any] = []
    with open(tmp, "wb") as fh:
        sink = TextSink(fh, "jsonl")
        for window in _windows(records, options["window"]):
            good, bad = partition(window)
            if bad and options["on_error"] == "fail":
                return {"failed": f"{piece['source']}: {bad[0].error}", "line": bad[0].line}
            rows = build_rows(good, proba([r.text or "" for r in good]) if good else _none(labels), labels, version)
            rejects += [reject_row(r, piece["source"] if many_files else None) for r in bad]
            counts.update(r["label"] for r in rows)
            n_rows += len(rows)
            n_records += len(window)
            if shard_fmt == "parquet":
                tables.append(_table(rows)) if rows else None
            else:
                sink.write(rows)
    if shard_fmt == "parquet" and tables:
        _write_parquet(tables, tmp)
    if shard_fmt == "parquet" and not tables:  # no good row: no parquet file (a dataset reader would choke on it)
        tmp.unlink()
    else:
        _commit(tmp, out)
    record: dict[str, Any] = {
        "shard": out.name if out.exists() else None,
        "rows": n_rows,
        "rejected": len(rejects),
        "records": n_records,
        "labels": dict(counts),
        "sha256": sha256_file(out) if out.exists() else None,
        "bytes": out.stat().st_size if out.exists() else 0,
        "input": piece,
        "rejects_sha256": None,
        "seconds": 0.0,  # read, score and write, on the worker (rows/s per actor = rows / seconds)
    }
    if rejects:
        rej, rej_tmp = rejects_file(staging, name), rejects_file(staging, name + ".tmp")
        rej_tmp.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects).encode())
        _commit(rej_tmp, rej)
        record["rejects_sha256"] = sha256_file(rej)
    record["seconds"] = round(time.perf_counter() - t0, 3)
    rec, rec_tmp = record_file(staging, name), record_file(staging, name + ".tmp")
    rec_tmp.write_text(json.dumps(record), encoding="utf-8")
    _commit(rec_tmp, rec)  # the commit point
    fsync_dir(staging)
    return record


def _none(labels: list[str]) -> np.ndarray:
    return np.zeros((0, len(labels)), dtype=np.float32)  # (0, C)


def _windows(records: Iterable[Record], size: int) -> Iterable[list[Record]]:
    window: list[Record] = []
    for rec in records:
        window.append(rec)
        if len(window) >= size:
            yield window
            window = []
    if window:
        yield window


def _table(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise ScoringError(f"cannot write these rows as parquet (mixed types in a column?): {e}") from e


def _write_parquet(tables: list[Any], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise ScoringError(f"cannot write these rows as one parquet shard (column types differ): {e}") from e
    pq.write_table(table, path)


def committed(staging: Path, name: str, shard_fmt: str) -> dict[str, Any] | None:
    """The record of a committed shard, verified (its file and rejects match their sha256), else None."""
    rec_path = record_file(staging, name)
    if not rec_path.is_file():
        return None
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(rec_path.read_text(encoding="utf-8"))
        out = shard_file(staging, name, shard_fmt)
        if (record["sha256"] is None and not out.exists()) or (out.is_file() and sha256_file(out) == record["sha256"]):
            rej = rejects_file(staging, name)
            if record["rejects_sha256"] is None or (rej.is_file() and sha256_file(rej) == record["rejects_sha256"]):
                return record
    return None


def clean_uncommitted(staging: Path, keep: set[str]) -> None:
    """Remove temp files and shards of pieces without a valid record (a crashed run's leftovers)."""
    for p in staging.iterdir():
        base = p.name.removeprefix("_").split(".", 1)[0]
        if p.name.endswith(".tmp") or base not in keep:
            p.unlink()


def committed_record(staging: Path, name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(record_file(staging, name).read_text(encoding="utf-8"))
    return record


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    _commit(tmp, path)
