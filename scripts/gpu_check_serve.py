"""Steps of scripts/gpu_check.py that start processes: `sentiment serve --device DEV` under the project's load
generator (loadtests/bench/loadgen.py), `sentiment score --engine ray` checked against the local engine, and
`sentiment train --device DEV` for one epoch."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from scripts.gpu_check_steps import REPO, TRAIN_RECIPE, Context, Failed, Skip, nvidia_smi

SERVED_ATOL = {"cpu": 1e-5, "cuda": 1e-4}  # served vs in-process scores (rounded to 6 decimals either way)


def _post(url: str, texts: list[str]) -> list[dict[str, Any]]:
    req = urllib.request.Request(
        url + "/predict", data=json.dumps({"texts": texts}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def agreement(got: list[dict[str, Any]], want: list[dict[str, Any]], atol: float, what: str) -> dict[str, Any]:
    """Largest score difference and label agreement of two lists of answer rows; raises unless every score is
    within `atol` and labels differ only where the reference's two best scores are within 2 x `atol` (a tie)."""
    if len(got) != len(want):
        raise AssertionError(f"{what}: {len(got)} answers for {len(want)} texts")
    worst, same = 0.0, 0
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        diff = max(abs(g["scores"][k] - w["scores"][k]) for k in w["scores"])
        worst = max(worst, diff)
        if g["label"] == w["label"]:
            same += 1
            continue
        top = sorted(w["scores"].values(), reverse=True)
        if top[0] - top[1] > 2 * atol:
            raise AssertionError(f"{what}: text {i} labelled {g['label']} {g['scores']}, expected {w}")
    if worst > atol:
        raise AssertionError(f"{what}: scores differ by up to {worst:.2e} (> {atol:.0e})")
    return {"texts": len(want), "max_score_diff": worst, "label_agreement": same / len(want)}


class GpuSampler:
    """Samples GPU utilisation and memory with nvidia-smi every `every` s while a load runs (None where unreadable)."""

    def __init__(self, every: float = 0.5) -> None:
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            lines = nvidia_smi("utilization.gpu,memory.used")
            if lines is None:
                return
            util, mem = (float(x) for x in lines[0].split(","))
            self.samples.append((util, mem))
            self._stop.wait(self.every)

    def __enter__(self) -> GpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def summary(self) -> dict[str, float] | None:
        if not self.samples:
            return None
        util = [u for u, _ in self.samples]
        return {
            "util_mean_pct": round(statistics.mean(util), 1),
            "util_max_pct": max(util),
            "mem_max_mib": max(m for _, m in self.samples),
        }


def _load(ctx: Context, url: str, bodies_file: Path, concurrency: int) -> dict[str, Any]:
    """`ctx.loadgen_procs` load generator processes, `concurrency` connections in all; their figures summed."""
    procs_n = max(1, min(ctx.loadgen_procs, concurrency))
    per = [concurrency // procs_n + (1 if i < concurrency % procs_n else 0) for i in range(procs_n)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "loadtests.bench.loadgen", "--url", url + "/predict", "--bodies", str(bodies_file)]
    cmd += ["--duration", str(ctx.sizes.load_s), "--warmup", str(ctx.sizes.warmup_s)]
    with GpuSampler() as gpu:
        procs = [
            subprocess.Popen([*cmd, "--concurrency", str(c)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
            for c in per
        ]
        outs = [p.communicate(timeout=ctx.sizes.load_s + ctx.sizes.warmup_s + 60)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"load generator exited with {[p.returncode for p in procs]}")
    runs = [json.loads(o) for o in outs]
    status: dict[str, int] = {}
    for r in runs:
        for code, n in r["status"].items():
            status[code] = status.get(code, 0) + n
    return {
        "concurrency": concurrency,
        "loadgen_procs": procs_n,
        "requests": sum(r["requests"] for r in runs),
        "rps": round(sum(r["rps"] for r in runs), 1),
        "texts_per_s": round(sum(r["texts_per_s"] for r in runs), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),  # median of the processes' medians
        "p99_ms": max(r["p99_ms"] for r in runs),  # the worst process's p99
        "errors": sum(r["non_200"] + r["connection_errors"] for r in runs),
        "status": status,  # HTTP status -> requests (429: over a worker's share of max_concurrency)
        "client_cpu_cores": round(sum(r["client_cpu_cores"] for r in runs), 2),
        "gpu": gpu.summary(),
    }


def step_serve(ctx: Context) -> dict[str, Any]:
    """For each worker count: start `sentiment serve --device DEV`, check its answers against the in-process
    Predictor on the same device, then load it with single-text and 64-text requests."""
    from service.api.launcher import serving
    from service.core.artifact import load_artifact
    from service.core.predictor import Predictor

    texts = [t.text for t in ctx.tweets]
    sample = texts[:256]
    predictor = Predictor(load_artifact(ctx.model_dir, ctx.device))
    want = predictor.to_rows(predictor.predict_proba(sample))
    atol = SERVED_ATOL["cuda" if predictor.artifact.device.type == "cuda" else "cpu"]
    single = ctx.work_dir / "bodies-1.json"
    single.write_text(json.dumps([[t] for t in texts]), encoding="utf-8")
    batch64 = ctx.work_dir / "bodies-64.json"
    batch64.write_text(json.dumps([texts[i : i + 64] for i in range(0, len(texts) - 63, 64)]), encoding="utf-8")
    runs, problems = [], []
    result = {"device": ctx.device, "runs": runs}
    for workers in ctx.sizes.workers:
        if ctx.left() < 30:
            problems.append(f"time budget spent before the {workers}-worker server")
            break
        log = ctx.work_dir / f"serve-{workers}w.log"
        flags = ("--device", ctx.device, "--workers", str(workers), "--no-access-log")
        with serving(ctx.model_dir, *flags, log_path=log, ready_timeout=180) as server:
            got = [row for i in range(0, len(sample), 64) for row in _post(server.url, sample[i : i + 64])]
            run = {"workers": workers, "start_s": round(server.start_s, 2)}
            try:
                run["answers"] = agreement(got, want, atol, f"served ({workers} workers) vs in-process")
            except AssertionError as e:  # wrong answers: recorded, and the load figures are still taken
                run["answers"] = {"error": str(e)}
                problems.append(str(e))
            run["single"] = _load(ctx, server.url, single, ctx.sizes.single_concurrency)
            run["batch64"] = _load(ctx, server.url, batch64, ctx.sizes.batch_concurrency)
        runs.append(run)
        errors = {k: run[k]["status"] for k in ("single", "batch64") if run[k]["errors"]}
        if errors:
            problems.append(f"{workers} workers: failed requests under load {errors}")
    if problems:
        raise Failed("; ".join(problems), result)
    return result


def _score(ctx: Context, engine: str, src: Path, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "service.cli", "score", str(src), "-o", str(out), "--engine", engine]
    cmd += ["--model", str(ctx.model_dir), "--device", ctx.device, "--no-progress", "--json"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=max(10, ctx.left() - 5))
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"sentiment score --engine {engine} exited with {proc.returncode}: {proc.stderr[-800:]}")
    summary = json.loads(proc.stderr.strip().splitlines()[-1])
    return {"wall_s": round(seconds, 1), "rows_per_s": round(ctx.sizes.ray_rows / seconds, 1), "summary": summary}


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def step_ray(ctx: Context) -> dict[str, Any]:
    """`sentiment score --engine ray` (GPU actors when the device is CUDA) on a file of `ray_rows` tweets, checked
    row by row against `sentiment score --engine local` on the same device."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise Skip(
            "ray is not installed here: on the GPU machine (no network) ray[data]==2.60.0 would have to travel, and "
            "its cp312 wheel alone is 79.3 MB (75.6 MiB), over the 64 MiB limit for everything sent (docs/gpu.md)"
        )
    from service.core.reference import write_jsonl

    n = ctx.sizes.ray_rows
    src = ctx.work_dir / f"tweets-{n}.jsonl"
    base = ctx.tweets
    tweets = [type(base[0])(f"{base[i % len(base)].id}-{i}", base[i % len(base)].text) for i in range(n)]
    write_jsonl(tweets, src)
    local = _score(ctx, "local", src, ctx.work_dir / "scored-local.jsonl")
    ray = _score(ctx, "ray", src, ctx.work_dir / "scored-ray.jsonl")
    got, want = _rows(ctx.work_dir / "scored-ray.jsonl"), _rows(ctx.work_dir / "scored-local.jsonl")
    if [r["id"] for r in got] != [r["id"] for r in want]:
        raise AssertionError("ray and local outputs differ in ids or order")
    atol = SERVED_ATOL["cuda" if ctx.device.startswith("cuda") else "cpu"]
    return {"rows": n, "local": local, "ray": ray, "ray_vs_local": agreement(got, want, atol, "ray vs local")}


def _epoch_seconds(log: str) -> list[float]:
    """The per-epoch times `training` prints ("epoch 1: ... 61s")."""
    import re

    return [float(m.group(1)) for m in re.finditer(r"^epoch \d+:.*?\s(\d+(?:\.\d+)?)s\s*$", log, re.MULTILINE)]


def step_train(ctx: Context) -> dict[str, Any]:
    """`sentiment train --device DEV --split temporal` (``python -m training``) for one epoch of one member, in its
    own process (the temporal protocol: a held-out test AvgRec to report)."""
    out = ctx.work_dir / "train"
    cmd = [sys.executable, "-m", "training", "--device", ctx.device, "--split", "temporal", "--members", "1"]
    cmd += ["--out", str(out)]
    cmd += ["--name", "gpu-check", "--no-progress", *TRAIN_RECIPE, *ctx.sizes.train_args]
    if ctx.data_dir is not None:
        cmd += ["--data-dir", str(ctx.data_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=max(10, ctx.left() - 5))
    seconds = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = " | ".join(line for line in log.strip().splitlines()[-6:])
        raise RuntimeError(f"`{' '.join(cmd[1:])}` exited with {proc.returncode}: {tail}")
    epochs = _epoch_seconds(log)
    if not epochs:
        raise RuntimeError(f"no 'epoch N: ... Ns' line in the training output: {log[-500:]}")
    from service.core.artifact import load_artifact

    trained = load_artifact(out / "gpu-check", ctx.device)  # what it wrote is a servable artifact on this torch
    return {
        "command": "python " + " ".join(cmd[1:]).replace(str(REPO) + "/", ""),
        "epoch_s": epochs,
        "total_s": round(seconds, 1),
        "artifact": trained.manifest.version,
        "test_avg_recall": round(trained.manifest.metrics["test"]["avg_recall"], 4),
    }
