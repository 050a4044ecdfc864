"""`sentiment score --engine ray`: the same scoring job on Ray Data, for when one machine is not enough.

Pipeline (streaming, ordered):

1. ``from_items(files)`` -> ``map_batches(read_shard)``: each input file (or each shard of a directory) is parsed by
   the same readers as the local engine (same quirks, same line numbers, same bad-row reports), in chunks.
2. ``map_batches(RayScorer, concurrency=N)``: an actor pool of model replicas. Each actor loads the verified
   artifact once (`service.core.artifact.load_artifact`, no training code) and gets one GPU when the cluster has them.
3. The driver streams the scored batches back in input order as windows of the one job loop every engine uses
   (service/batch/job.py) and the same outputs (service/batch/sinks.py): one ``.jsonl`` / ``.csv`` / ``.parquet``
   file (atomic rename at the end), or a directory of parquet shards. Bad rows go to ``OUTPUT.rejects.jsonl``
   (``--on-error skip``) or stop the job (``fail``).

A local cluster (``ray.init`` with this machine's CPUs) is started and stopped by the command unless an address is
given (``--ray-address auto`` / ``ray://head:10001``) or Ray is already initialised in this process.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from service.batch.files import JobFiles
from service.batch.job import JobOptions, Window, progress_bar, run_windows
from service.batch.readers import InputFormatError, read_records, resolve_format
from service.batch.rows import ScoreSummary, ScoringError
from service.batch.sinks import FileOutput, output_format
from service.core.records import Record, row_error

READ_CHUNK = 4096  # records per block produced by a reader task
_INPUT_SUFFIXES = tuple(f".{ext}" for ext in ("jsonl", "ndjson", "csv", "tsv", "txt", "parquet"))


def list_inputs(path: str) -> list[str]:
    """One file, or the data files of a directory (sorted by name: that is the output order)."""
    p = Path(path)
    if p.is_file():
        return [str(p)]
    if p.is_dir():
        files = sorted(
            str(f)
            for f in p.iterdir()
            if f.is_file()
            and not f.name.startswith((".", "_"))
            and f.name.lower().removesuffix(".gz").endswith(_INPUT_SUFFIXES)
        )
        if not files:
            raise InputFormatError(f"no input files (.jsonl, .csv, .tsv, .txt, .parquet, .gz) in the directory {path}")
        return files
    raise InputFormatError(f"input not found: {path} (the Ray engine reads files or directories, not stdin)")


def _record_row(file_no: int, rec: Record) -> dict[str, Any]:
    return {
        "file": file_no,
        "line": rec.line,
        "id": rec.id,
        "text": "" if rec.bad else rec.text,
        "error": row_error(rec.error) or "",  # always a string column: "" = a good row (see readers.row_error)
        # ascii JSON keeps undecodable bytes (surrogates) and any value type through Arrow
        "fields": json.dumps(rec.fields, default=str),
    }


def read_shard(batch: dict[str, np.ndarray], fmt: str | None, text_field: str, id_field: str) -> Iterator[dict]:
    """Ray map_batches UDF: file paths in, record columns out (chunks of READ_CHUNK, streaming)."""
    for path, file_no in zip(batch["path"], batch["file_no"], strict=True):
        rows: list[dict[str, Any]] = []
        for rec in read_records(str(path), fmt, text_field, id_field):
            rows.append(_record_row(int(file_no), rec))
            if len(rows) >= READ_CHUNK:
                yield _columns(rows)
                rows = []
        if rows:
            yield _columns(rows)


def _columns(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for key in rows[0]:
        arr = np.empty(len(rows), dtype=object)
        arr[:] = [r[key] for r in rows]
        cols[key] = arr
    cols["file"] = cols["file"].astype(np.int64)
    cols["line"] = cols["line"].astype(np.int64)
    return cols


class RayScorer:
    """A model replica (Ray actor): probabilities for the good rows of each batch (zeros for bad rows, which are
    never written as scores)."""

    def __init__(
        self, model_files: dict[str, bytes], device: str, batch_size: int, threads: int, precision: str = "fp32"
    ) -> None:
        import tempfile

        import torch

        from service.core.artifact import load_artifact
        from service.core.parallel import ParallelProba
        from service.core.predictor import Predictor

        # the model travels with the actor (no shared filesystem needed) and is verified again here (sha256)
        with tempfile.TemporaryDirectory(prefix="sentiment-model-") as tmp:
            for name, data in model_files.items():
                (Path(tmp) / name).write_bytes(data)
            self.artifact = load_artifact(tmp, device, precision=precision)
        self.predictor = Predictor(self.artifact, max_batch_size=batch_size)
        # `threads` concurrent model calls of 1 intra-op thread each (more work than one call with `threads`)
        self.proba = ParallelProba(self.predictor, 1 if device.startswith("cuda") else max(1, threads))
        torch.set_num_threads(1)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(batch["id"])
        good = [i for i in range(n) if row_error(batch["error"][i]) is None]
        probs = np.zeros((n, len(self.artifact.labels)), dtype=np.float32)  # (N, C)
        if good:
            probs[good] = self.proba([str(batch["text"][i]) for i in good])
        out = {k: batch[k] for k in ("file", "line", "id", "error", "fields")}
        out["probs"] = probs
        return out


def _ray_init(address: str | None, progress: bool) -> bool:
    """Connect to (or start) a cluster; True when this call started it and must shut it down."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": progress, "configure_logging": False}
    if address:  # ship this package to the cluster's workers (they may not have it installed)
        ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).resolve().parent)]}, **kwargs)
    else:
        ray.init(num_cpus=os.cpu_count() or 1, **kwargs)
    return True


def score_with_ray(
    model_dir: str | Path,
    input_path: str,
    output_path: str,
    options: JobOptions | None = None,
    *,
    batch_size: int = 256,
    address: str | None = None,
    actors: int | None = None,
    device: str = "auto",
    precision: str = "fp32",
    **job: Any,
) -> ScoreSummary:
    """Score a file or a directory of shards on Ray Data; same rows, labels and scores as the local engine."""
    from service.batch.engines.local import scored_version
    from service.core.artifact import artifact_files, load_artifact

    opts = options or JobOptions(**job)
    if opts.resume:
        raise ScoringError("--resume is for the local engine (Ray retries failed tasks itself; re-run the job)")
    if output_path == "-":
        raise ScoringError("the Ray engine writes files: give -o a .jsonl/.csv/.parquet file or a directory/")
    files = list_inputs(input_path)
    for f in files:
        resolve_format(f, opts.fmt)  # a clear error before the cluster starts
    to_dir = output_path.endswith(("/", os.sep)) or Path(output_path).is_dir()
    out_fmt = "parquet" if to_dir else output_format(output_path)
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise ScoringError(f"--device must be auto, cpu or cuda, not {device!r}")
    if precision == "int8" and device.startswith("cuda"):
        raise ScoringError("int8 weights run on the CPU only; use --precision fp32 with --device cuda")
    # verify here, with a clear error, before any actor starts (the actors verify their copy again)
    artifact = load_artifact(model_dir, "cpu", precision=precision)
    labels, version = list(artifact.labels), scored_version(artifact)
    model_files = {name: (Path(model_dir) / name).read_bytes() for name in artifact_files(model_dir, precision)}
    del artifact

    import ray

    started = _ray_init(address, opts.progress)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # output order = input order
        ctx.enable_progress_bars = opts.progress
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0)) if device == "auto" or device.startswith("cuda") else 0
        if device.startswith("cuda") and not gpus:
            raise ScoringError("--device cuda: the Ray cluster has no GPUs (ray.cluster_resources() lists none)")
        if precision == "int8":
            gpus = 0  # int8 kernels are CPU kernels: CPU actors even on a GPU cluster
        cpus = int(resources.get("CPU", 1))
        n_actors = actors or (gpus if gpus else max(1, cpus // 2))
        threads = 1 if gpus else max(1, cpus // n_actors)  # concurrent model calls per CPU actor
        ds = ray.data.from_items([{"path": str(Path(f).resolve()), "file_no": i} for i, f in enumerate(files)])
        ds = ds.map_batches(
            read_shard,
            batch_size=1,
            batch_format="numpy",
            fn_kwargs={"fmt": opts.fmt, "text_field": opts.text_field, "id_field": opts.id_field},
        )
        ds = ds.map_batches(
            RayScorer,
            fn_constructor_kwargs={
                "model_files": model_files,
                "device": "cuda" if gpus else "cpu",
                "batch_size": batch_size,
                "threads": threads,
                "precision": precision,
            },
            batch_size=opts.window,
            batch_format="numpy",
            concurrency=n_actors,
            num_gpus=1 if gpus else 0,
            num_cpus=0 if gpus else 1,
        )
        return _write(ds, files, output_path, to_dir, out_fmt, labels, version, opts)
    finally:
        if started:
            ray.shutdown()


def _windows(ds: Any, files: list[str], window: int) -> Iterator[Window]:
    """The scored batches streamed back from the actors, in input order, as windows of the shared job loop."""
    for batch in ds.iter_batches(batch_size=window, batch_format="numpy"):
        n = len(batch["id"])
        records = [
            Record(
                0,
                int(batch["line"][i]),
                str(batch["id"][i]),
                None,
                None,
                json.loads(batch["fields"][i]),
                row_error(batch["error"][i]),
            )
            for i in range(n)
        ]
        good = [i for i in range(n) if not records[i].bad]
        bad = [i for i in range(n) if records[i].bad]
        probs = np.asarray(batch["probs"], dtype=np.float32)[good]  # (G, C)
        yield Window(
            records,
            [records[i] for i in good],
            [records[i] for i in bad],
            lambda probs=probs: probs,
            files[int(batch["file"][0])] if n else "",
            [files[int(batch["file"][i])] for i in bad] if len(files) > 1 else None,
        )


def _write(
    ds: Any,
    files: list[str],
    output_path: str,
    to_dir: bool,
    out_fmt: str,
    labels: list[str],
    version: str,
    opts: JobOptions,
) -> ScoreSummary:
    summary = ScoreSummary(output=output_path)
    t0 = time.perf_counter()
    job_files = JobFiles.of(output_path)
    job_files.clear()
    job_files.output.parent.mkdir(parents=True, exist_ok=True)
    output = FileOutput(job_files, out_fmt, {"output_offset": 0, "rejects_offset": 0}, to_dir=to_dir)
    bar = progress_bar(opts.progress, desc="scoring (ray)")
    try:
        run_windows(
            _windows(ds, files, opts.window),
            output,
            summary,
            labels=labels,
            version=version,
            on_error=opts.on_error,
            bar=bar,
        )
        summary.rejects = output.finish(summary.rejected)
    finally:
        bar.close()
        output.close()
    summary.seconds = time.perf_counter() - t0
    return summary
