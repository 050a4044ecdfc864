"""The end of a Ray job, on the driver (service/batch/engines/ray.py): the pieces' rejects merged in input order, and
either the job manifest written last and the staging directory renamed to the output directory, or the shards merged
in input order into one output file (what that costs: `merge_shards`)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from service.batch import shards
from service.batch.files import JobFiles, fsync_dir, fsync_path
from service.batch.rows import ScoreSummary, ScoringError
from service.batch.sinks import TextSink


def finish_output(
    files: JobFiles,
    names: list[str],
    shard_fmt: str,
    out_fmt: str,
    to_dir: bool,
    summary: ScoreSummary,
    fingerprint: dict[str, Any],
    model_fp: dict[str, Any],
    job_opts: dict[str, Any],
) -> str | None:
    """Rejects merged in input order; a directory output gets its manifest (written last) and its final name; a
    one-file output is the shards merged in input order."""
    staging = files.parts
    rejects = None
    if summary.rejected:
        merge_rejects(staging, names, files.rejects_partial)
        os.replace(files.rejects_partial, files.rejects)
        rejects = str(files.rejects)
    else:
        files.rejects.unlink(missing_ok=True)  # a stale one from an earlier run would mislead
    if to_dir:
        for name in names:
            shards.rejects_file(staging, name).unlink(missing_ok=True)
        manifest = {
            "model": model_fp,
            "options": job_opts,
            "input": fingerprint,
            "rows": summary.rows,
            "rejected": summary.rejected,
            "labels": dict(summary.labels),
            "shards": [shards.committed_record(staging, n) for n in names],
        }
        shards.write_json(staging / shards.MANIFEST, manifest)
        if files.output.exists():
            shutil.rmtree(files.output) if files.output.is_dir() else files.output.unlink()
        os.replace(staging, files.output)
    else:
        merge_shards(staging, names, shard_fmt, out_fmt, files.partial)
        os.replace(files.partial, files.output)
        shutil.rmtree(staging)
    fsync_dir(files.output.parent)
    return rejects


def merge_rejects(staging: Path, names: list[str], dest: Path) -> None:
    """The pieces' rejects, in input order, into one file (fsynced)."""
    with open(dest, "wb") as out:
        for name in names:
            rej = shards.rejects_file(staging, name)
            if rej.is_file():
                out.write(rej.read_bytes())
        out.flush()
        os.fsync(out.fileno())


def merge_shards(staging: Path, names: list[str], shard_fmt: str, out_fmt: str, dest: Path) -> None:
    """One output file from the shards, in input order. Its cost is the driver's: JSONL is a byte copy; CSV parses
    every JSON line again (to write one header for the whole job, as the local engine does); Parquet is copied
    table by table (Arrow)."""
    parts = [s for s in (shards.shard_file(staging, n, shard_fmt) for n in names) if s.exists()]
    if out_fmt == "parquet":
        _merge_parquet(parts, dest)
        return
    with open(dest, "wb") as out:
        if out_fmt == "jsonl":
            for s in parts:
                with open(s, "rb") as f:
                    while chunk := f.read(1 << 22):
                        out.write(chunk)
        else:
            sink = TextSink(out, "csv")
            for s in parts:
                with open(s, encoding="utf-8", errors="surrogateescape") as f:
                    sink.write([json.loads(line) for line in f])
        out.flush()
        os.fsync(out.fileno())


def _merge_parquet(shards: list[Path], dest: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(p) for p in shards]
    if not schemas:
        pq.write_table(pa.table({}), dest)
        return
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    with pq.ParquetWriter(dest, schema) as writer:
        for p in shards:
            table = pq.read_table(p)
            if table.num_columns:
                try:
                    writer.write_table(table.cast(schema))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                    raise ScoringError(f"cannot merge {p} into one parquet file (column types differ): {e}") from e
    fsync_path(dest)
