"""`sentiment score --engine ray`: the same scoring job on a Ray cluster, for when one machine is not enough.

The driver handles metadata only; the workers read, score and write (docs/batch-scoring.md, "Ray"):

1. The driver reads the input once (`splits.scan_inputs`): sha256 per file for the resume fingerprint, and the
   pieces: a file each, big files cut into byte ranges at line ends (Parquet: row groups).
2. A pool of model actors (`ShardScorer`, one GPU each when the cluster has them, spread over the nodes) scores the
   pieces in parallel; each piece is read by the same readers as the local engine (same line numbers, same bad-row
   reports) and committed by its worker as one shard with its record (service/batch/shards.py).
3. At the end the driver merges the small rejects files, writes ``_manifest.json`` last and renames the staging
   directory ``OUTPUT.partial.parts/`` to the output directory; for a one-file output (``-o out.jsonl``) it merges
   the shards in input order (a byte copy for JSONL; see `merge.merge_shards` for CSV and Parquet).

Exactly once: a journal ``OUTPUT.partial.journal.json`` (input sha256s, model, options) is written before the first
piece; ``--resume`` after a crash (even a SIGKILLed driver) keeps every shard whose record verifies and redoes only
the rest; a changed input, model or option is refused (service/batch/journal.py). Faults inside the job: an actor
that dies is restarted up to ``MAX_RESTARTS`` times and its piece retried up to ``MAX_TASK_RETRIES`` times (a piece is
idempotent: temp names, then rename); a piece whose actor is gone for good goes to another actor.

A local cluster (``ray.init`` with this machine's CPUs) is started and stopped by the command unless an address is
given (``--ray-address auto`` / ``ray://head:10001``) or Ray is already initialised in this process.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from service.batch import shards
from service.batch.files import JobFiles
from service.batch.job import JobOptions, progress_bar
from service.batch.journal import Journal
from service.batch.merge import finish_output
from service.batch.model_info import model_fingerprint, scored_version
from service.batch.rows import ScoreSummary, ScoringError
from service.batch.sinks import output_format
from service.batch.splits import Piece, list_inputs, scan_inputs

MAX_RESTARTS = 4  # an actor killed (process, node) is restarted this many times...
MAX_TASK_RETRIES = 4  # ...and the piece it was scoring retried on it this many times
SPLIT_BYTES = 64 << 20  # a bigger input file is cut into pieces of about this size
IN_FLIGHT_PER_ACTOR = 2  # pieces queued per actor (the next one is ready when one finishes)

__all__ = ["MAX_RESTARTS", "MAX_TASK_RETRIES", "SPLIT_BYTES", "ShardScorer", "list_inputs", "score_with_ray"]


class ShardScorer:
    """A model replica (Ray actor) that scores pieces and commits them as shards (service/batch/shards.py)."""

    def __init__(
        self, model_files: dict[str, bytes], device: str, batch_size: int, threads: int, precision: str = "fp32"
    ) -> None:
        import tempfile

        import torch

        from service.core.artifact import load_artifact
        from service.core.parallel import ParallelProba
        from service.core.predictor import Predictor

        # the model travels with the actor (no shared filesystem needed for it) and is verified again here (sha256)
        with tempfile.TemporaryDirectory(prefix="sentiment-model-") as tmp:
            for name, data in model_files.items():
                (Path(tmp) / name).write_bytes(data)
            self.artifact = load_artifact(tmp, device, precision=precision)
        self.predictor = Predictor(self.artifact, max_batch_size=batch_size)
        # `threads` concurrent model calls of 1 intra-op thread each (more work than one call with `threads`)
        self.proba = ParallelProba(self.predictor, 1 if device.startswith("cuda") else max(1, threads))
        torch.set_num_threads(1)
        self.labels = list(self.artifact.labels)
        self.version = scored_version(self.artifact)

    def pid(self) -> int:
        return os.getpid()

    def score(self, piece: dict[str, Any], staging: str, shard_fmt: str, options: dict[str, Any], many: bool) -> dict:
        def proba(texts: list[str]) -> np.ndarray:  # (N, C)
            return self.proba(texts)

        return shards.score_piece(
            piece,
            proba,
            labels=self.labels,
            version=self.version,
            staging=Path(staging),
            shard_fmt=shard_fmt,
            options=options,
            many_files=many,
        )


def _ray_init(address: str | None, progress: bool) -> bool:
    """Connect to (or start) a cluster; True when this call started it and must shut it down."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": progress, "configure_logging": False}
    if address:  # ship this package to the cluster's workers (they may not have it installed)
        service_dir = Path(__file__).resolve().parents[2]
        ray.init(address=address, runtime_env={"py_modules": [str(service_dir)]}, **kwargs)
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
    split_bytes: int = SPLIT_BYTES,
    **job: Any,
) -> ScoreSummary:
    """Score a file or a directory of shards on Ray; same rows, labels and scores as the local engine. A directory
    output (``-o dir/``) is the workers' Parquet shards; a file output is their ordered merge."""
    from service.core.artifact import artifact_files, load_artifact

    opts = options or JobOptions(**job)
    if output_path == "-":
        raise ScoringError("the Ray engine writes files: give -o a .jsonl/.csv/.parquet file or a directory/")
    if split_bytes < 1:
        raise ScoringError("the split size must be >= 1 byte")
    files = list_inputs(input_path)
    to_dir = output_path.endswith(("/", os.sep)) or Path(output_path).is_dir()
    out_fmt = "parquet" if to_dir else output_format(output_path)
    shard_fmt = "parquet" if out_fmt == "parquet" else "jsonl"
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise ScoringError(f"--device must be auto, cpu or cuda, not {device!r}")
    if precision == "int8" and device.startswith("cuda"):
        raise ScoringError("int8 weights run on the CPU only; use --precision fp32 with --device cuda")
    # verify here, with a clear error, before any actor starts (the actors verify their copy again)
    artifact = load_artifact(model_dir, "cpu", precision=precision)
    model_fp = model_fingerprint(artifact)
    model_files = {name: (Path(model_dir) / name).read_bytes() for name in artifact_files(model_dir, precision)}
    del artifact
    fingerprint, pieces = scan_inputs(files, opts.fmt, split_bytes)  # a clear error before the cluster starts
    job_opts = {
        "format": opts.fmt,
        "text_field": opts.text_field,
        "id_field": opts.id_field,
        "on_error": opts.on_error,
        "output_format": out_fmt,
        "output_dir": to_dir,
        "split_bytes": split_bytes,
        "engine": "ray",
    }
    job_files = JobFiles.of(output_path)
    journal = _open_journal(job_files, fingerprint, model_fp, job_opts, opts)
    staging = job_files.parts
    done = {p.name: r for p in pieces if (r := shards.committed(staging, p.name, shard_fmt)) is not None}
    shards.clean_uncommitted(staging, set(done))
    summary = ScoreSummary(output=output_path)
    summary.resumed_from = sum(r["records"] for r in done.values())
    t0 = time.perf_counter()

    import ray

    started = _ray_init(address, opts.progress)
    try:
        files_ref = ray.put(model_files)  # held until the end: a restarting actor reads its arguments again
        pool = _actor_pool(ray, files_ref, device, precision, batch_size, actors)
        todo = [p for p in pieces if p.name not in done]
        worker_opts = {**job_opts, "window": opts.window}
        done.update(_run(ray, pool, todo, staging, shard_fmt, worker_opts, len(files) > 1, opts, summary.resumed_from))
    finally:
        if started:
            ray.shutdown()
    names = [p.name for p in pieces]
    for name in names:
        r = done[name]
        summary.rows += r["rows"]
        summary.rejected += r["rejected"]
        summary.labels.update(r["labels"])
    summary.rejects = finish_output(
        job_files, names, shard_fmt, out_fmt, to_dir, summary, fingerprint, model_fp, job_opts
    )
    journal.path.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - t0
    return summary


def _open_journal(
    files: JobFiles, fingerprint: dict[str, Any], model_fp: dict[str, Any], job_opts: dict[str, Any], opts: JobOptions
) -> Journal:
    """The interrupted run's journal when resuming (checked: same input, model and options), else a new one."""
    journal = Journal.load(files.journal)
    if journal is not None and not opts.resume:
        if not opts.restart:
            raise ScoringError(
                f"{files.parts} holds an interrupted Ray run: pass --resume to continue it, or --restart to discard it"
            )
        journal = None
    if journal is not None:
        journal.check_resume(fingerprint, model_fp, job_opts)
        files.parts.mkdir(parents=True, exist_ok=True)
        return journal
    files.clear()
    files.output.parent.mkdir(parents=True, exist_ok=True)
    files.parts.mkdir()
    journal = Journal.new(files.journal, fingerprint, model_fp, job_opts)
    journal.save()  # the run exists from now on: a crash before the first shard is resumable too
    return journal


def _actor_pool(
    ray: Any, files_ref: Any, device: str, precision: str, batch_size: int, actors: int | None
) -> list[Any]:
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if device == "auto" or device.startswith("cuda") else 0
    if device.startswith("cuda") and not gpus:
        raise ScoringError("--device cuda: the Ray cluster has no GPUs (ray.cluster_resources() lists none)")
    if precision == "int8":
        gpus = 0  # int8 kernels are CPU kernels: CPU actors even on a GPU cluster
    cpus = int(resources.get("CPU", 1))
    n_actors = actors or (gpus if gpus else max(1, cpus // 2))
    threads = 1 if gpus else max(1, cpus // n_actors)  # concurrent model calls per CPU actor
    remote = ray.remote(
        num_cpus=0 if gpus else 1,
        num_gpus=1 if gpus else 0,
        max_restarts=MAX_RESTARTS,
        max_task_retries=MAX_TASK_RETRIES,
        scheduling_strategy="SPREAD",
    )(ShardScorer)
    kwargs = {"device": "cuda" if gpus else "cpu", "batch_size": batch_size, "threads": threads, "precision": precision}
    return [remote.remote(files_ref, **kwargs) for _ in range(n_actors)]


def _run(
    ray: Any,
    pool: list[Any],
    todo: list[Piece],
    staging: Path,
    shard_fmt: str,
    worker_opts: dict[str, Any],
    many: bool,
    opts: JobOptions,
    initial: int,
) -> dict[str, dict[str, Any]]:
    """Hand the pieces to the actors, a few in flight each, in input order; collect the records. A bad row with
    ``--on-error fail`` stops the job at the first one in input order."""
    records: dict[str, dict[str, Any]] = {}
    failures: dict[int, str] = {}
    in_flight: dict[Any, tuple[int, Any]] = {}  # ref -> (piece index, actor)
    queue = list(range(len(todo)))
    attempts: Counter[int] = Counter()
    live = list(pool)
    bar = progress_bar(opts.progress, None, initial, desc="scoring (ray)")

    def submit(i: int, actor: Any) -> None:
        ref = actor.score.remote(todo[i].as_dict(), str(staging), shard_fmt, worker_opts, many)
        in_flight[ref] = (i, actor)

    try:
        while queue or in_flight:
            while queue and not failures and live and len(in_flight) < IN_FLIGHT_PER_ACTOR * len(live):
                busy = Counter(id(a) for _, a in in_flight.values())
                submit(queue.pop(0), min(live, key=lambda a: busy[id(a)]))
            if not in_flight:
                break
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            i, actor = in_flight.pop(ready[0])
            try:
                record = ray.get(ready[0])
            except ray.exceptions.RayActorError:  # restarts and retries exhausted: the piece goes elsewhere
                attempts[i] += 1
                if actor in live:
                    live.remove(actor)
                if not live or attempts[i] > len(pool):
                    raise ScoringError(f"{todo[i].source}: piece {todo[i].name} failed on every actor") from None
                queue.insert(0, i)
                continue
            except ray.exceptions.RayTaskError as e:
                cause = e.cause if isinstance(e.cause, Exception) else None
                if isinstance(cause, ScoringError | ValueError):
                    raise ScoringError(f"{todo[i].source}: {cause}") from None
                raise
            if "failed" in record:
                failures[i] = record["failed"]
            else:
                records[todo[i].name] = record
                bar.update(record["records"])
                bar.set_postfix(rejected=sum(r["rejected"] for r in records.values()), refresh=False)
            if failures and not any(j < min(failures) for j, _ in in_flight.values()):
                break  # every piece before the first failing one is done: that is the first bad row
        if failures:
            raise ScoringError(
                f"{failures[min(failures)]}; stopped (the pieces committed so far are kept: fix the input and "
                "start over, or use --on-error skip to set bad rows aside)"
            )
    finally:
        bar.close()
        for actor in pool:
            ray.kill(actor)
    return records
