"""One-command check of the CUDA path (load, parity, forward, serve, Ray, train) -> gpu.md + gpu.json.

On the GPU machine (issue 18; see docs/gpu.md for copying the tree and installing the wheels there):
    python -m scripts.gpu_check --device cuda                 # full sizes, <= 8 min, writes docs/gpu.{md,json}
Rehearsal on a CPU (and in CI, tests/scripts/test_gpu_check.py):
    python -m scripts.gpu_check --device cpu --quick          # small sizes, writes build/gpu-check/
Preparing what travels (here, with network):
    python -m scripts.gpu_check --wheels build/gpu-travel     # cp312 manylinux wheels the GPU machine lacks + data
    python -m scripts.gpu_check --check-size                  # tree + build/gpu-travel, fails at >= 64 MiB

Every step is guarded: a failure is recorded with its error and the next step runs; the exit status is 1 when a
step failed (a step skipped for a stated reason, e.g. Ray not installed, does not fail the run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts import gpu_check_steps as steps
from scripts import gpu_check_travel as travel
from scripts.gpu_check_serve import step_ray, step_serve, step_train
from scripts.gpu_check_steps import FULL, QUICK, Context, Failed, Skip
from service.core.paths import REPO

STEPS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "facts": steps.step_facts,
    "load": steps.step_load,
    "parity": steps.step_parity,
    "half": steps.step_half,
    "throughput": steps.step_throughput,
    "serve": step_serve,
    "ray": step_ray,
    "train": step_train,
}
MIN_STEP_S = 8  # a step is not started with less of the budget left


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="cuda | cuda:N | cpu | auto (= cuda when available)")
    p.add_argument("--quick", action="store_true", help="small sizes (CPU rehearsal, CI): ~1 min on 2 cores")
    p.add_argument(
        "--out", default=None, help="directory of gpu.md + gpu.json (default: docs/, --quick: build/gpu-check/)"
    )
    p.add_argument("--budget-s", type=float, default=480.0, help="total time budget in seconds (default: 480)")
    p.add_argument(
        "--steps", default=",".join(STEPS), help=f"comma-separated steps to run (default: {','.join(STEPS)})"
    )
    p.add_argument(
        "--model", default=str(REPO / "models" / "default"), help="model directory (default: models/default)"
    )
    p.add_argument(
        "--data",
        default=None,
        help="SemEval-2017 4A .tsv directory (default: the shared data dir, else TRAVEL/semeval)",
    )
    p.add_argument(
        "--loadgen-procs",
        type=int,
        default=None,
        help="load generator processes per scenario (default: CPUs / 4, 1 to 4)",
    )
    p.add_argument("--travel", default=str(travel.DEFAULT_DIR), help="the folder that travels with the tree")
    p.add_argument(
        "--wheels", metavar="DIR", default=None, help="download the GPU machine's wheels + data into DIR, exit"
    )
    p.add_argument("--with-ray", action="store_true", help="with --wheels: add ray[data]==2.60.0 (79 MB: does not fit)")
    p.add_argument(
        "--install",
        action="store_true",
        help="first pip install TRAVEL's wheels offline (--no-index), as on the GPU machine; then the check",
    )
    p.add_argument(
        "--check-size", action="store_true", help="print what would travel (tree + TRAVEL), exit 1 if >= 64 MiB"
    )
    return p


def run_step(name: str, fn: Callable[[Context], dict[str, Any]], ctx: Context) -> dict[str, Any]:
    t0 = time.monotonic()
    if ctx.left() < MIN_STEP_S:
        step = {"status": "failed", "seconds": 0.0, "error": f"not started: {ctx.left():.0f} s of the budget left"}
        print(f"[gpu-check] {name}: failed ({step['error']})", flush=True)
        return step
    try:
        result = fn(ctx)
        step = {"status": "ok", "result": result}
    except Skip as e:
        step = {"status": "skipped", "error": str(e)}
    except Failed as e:  # measured, missed its bar: the figures stay in the report
        step = {"status": "failed", "error": str(e), "result": e.result}
    except Exception as e:  # the guard: record and go on with the next step
        step = {"status": "failed", "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-3000:]}
    step["seconds"] = round(time.monotonic() - t0, 1)
    print(f"[gpu-check] {name}: {step['status']} ({step['seconds']} s){' ' + step.get('error', '')}", flush=True)
    return step


def resolve_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def data_dir(args: argparse.Namespace) -> Path:
    if args.data:
        return Path(args.data)
    from service.core.paths import DATA_DIR

    return DATA_DIR if DATA_DIR.is_dir() else Path(args.travel) / "semeval"


def check(args: argparse.Namespace) -> int:
    t_start = time.monotonic()
    sizes = QUICK if args.quick else FULL
    out = Path(args.out) if args.out else REPO / ("build/gpu-check" if args.quick else "docs")
    work = REPO / "build" / "gpu-check-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out.mkdir(parents=True, exist_ok=True)
    unknown = set(args.steps.split(",")) - set(STEPS)
    if unknown:
        print(f"error: unknown steps {sorted(unknown)}; choose from {', '.join(STEPS)}", file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    if device == "cpu" and not args.quick and not args.out:
        print(
            "error: a full-size run on the CPU would replace docs/gpu.md (the GPU machine's report); use --quick "
            "(writes build/gpu-check/) or give --out",
            file=sys.stderr,
        )
        return 2
    procs = args.loadgen_procs or max(1, min(4, len(os.sched_getaffinity(0)) // 4))
    ctx = Context(device, Path(args.model).resolve(), out, work, sizes, t_start + args.budget_s, loadgen_procs=procs)
    ctx.data_dir = data_dir(args)
    if not ctx.data_dir.is_dir():
        print(
            f"error: no SemEval-2017 4A files at {ctx.data_dir}: give --data DIR, or run --wheels first (it copies "
            "them into the travel folder)",
            file=sys.stderr,
        )
        return 2
    steps = {}
    if args.install:  # before any step imports bentoml or pydantic
        steps["install"] = run_step("install", lambda _: travel.install_wheels(Path(args.travel)), ctx)
    from service.core.reference import clean_tweets  # after the install

    ctx.tweets = clean_tweets(2000, ctx.data_dir)
    steps |= {name: run_step(name, STEPS[name], ctx) for name in STEPS if name in args.steps.split(",")}
    report = {
        "mode": "quick" if args.quick else "full",
        "device": device,
        "command": "python -m scripts.gpu_check " + " ".join(sys.argv[1:]),
        "finished_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "budget_s": args.budget_s,
        "seconds": round(time.monotonic() - t_start, 1),
        "ok": all(s["status"] != "failed" for s in steps.values()),
        "steps": steps,
    }
    try:  # needs git: on the GPU machine's copied tree, the figure --wheels recorded
        report["travel"] = travel.check_size(Path(args.travel))
    except (OSError, subprocess.CalledProcessError):
        record = Path(args.travel) / "size.json"
        report["travel"] = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
    from scripts.gpu_check_report import render

    (out / "gpu.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out / "gpu.md").write_text(render(report) + "\n", encoding="utf-8")
    print(f"[gpu-check] {'ok' if report['ok'] else 'FAILED'} in {report['seconds']} s -> {out}/gpu.md, gpu.json")
    return 0 if report["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.wheels:
        src = data_dir(args)
        result = travel.download_wheels(Path(args.wheels), args.with_ray, src if src.is_dir() else None)
        print(json.dumps({k: v for k, v in result.items() if k != "dropped"}))
        print(f"not downloaded (the GPU machine has them): {', '.join(result['dropped']) or 'none'}")
        args.travel, args.check_size = args.wheels, True
    if args.check_size:
        report = travel.check_size(Path(args.travel))
        print(travel.format_size(report))
        if args.wheels:  # the figure, for the report written on the GPU machine (no git there)
            (Path(args.wheels) / "size.json").write_text(json.dumps(report) + "\n", encoding="utf-8")
        return 0 if report["fits"] else 1
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
