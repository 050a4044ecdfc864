"""`sentiment-lab bench`: every measurement of docs/benchmarks.md in one run, same machine, same client.

1. the model in-process: TorchScript forward texts/s by batch size and text length; the offline scorer;
2. servers, one at a time, each hit by the closed-loop load generator (loadtests/bench/loadgen.py, its own
   process, CPU use recorded) at a sweep of concurrency levels with single-text requests, then with 64-text
   requests: a bare Starlette echo (the raw ASGI ceiling), a no-op in the project's BentoML configuration,
   the real service with adaptive batching, and the real service with ``--no-batching``;
3. latency of the batching service at 50% of its saturation throughput (paced load);
4. the goal ratios, written to OUT/benchmarks.md (+ benchmarks.json, PNG plots; OUT: build/bench by default,
   docs/ holds the run the README cites).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import torch

from loadtests.bench import servers
from loadtests.bench.ratios import KINDS, ratios
from loadtests.bench.report import write_report
from service.api.launcher import Launched, free_port
from service.core.cores import cpu_cores
from service.core.paths import DATA_DIR, REPO
from service.core.semeval import folder_texts

MULTI, MID = KINDS["multi"], KINDS["mid"]  # texts per request in the multi-text runs


@dataclass(frozen=True)
class Plan:
    levels: tuple[int, ...]
    duration: float
    warmup: float
    multi_levels: tuple[int, ...]
    forward_seconds: float
    score_texts: int
    mid_levels: tuple[int, ...] = (8, 32)  # connections for 16-text requests
    limit_seconds: float = 4.0  # how long each model-limit process scores

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls((1, 64), 1.5, 0.5, (8,), 0.2, 2000, (16,), 2.0)
        return cls((1, 4, 16, 64, 128), 4.0, 1.0, (2, 8), 0.5, 12000)


def load_texts(data_dir: Path, limit: int = 20000) -> list[str]:
    """Tweets from the shared SemEval TSV files (id, label, text), `limit` evenly spaced ones in a fixed order."""
    texts = folder_texts(data_dir)
    if not texts:
        raise FileNotFoundError(f"no SemEval .tsv files with texts under {data_dir}")
    step = max(1, len(texts) // limit)
    return texts[::step][:limit]


def _tree_cpu(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def load(
    server: Launched,
    bodies: Path,
    concurrency: int,
    plan: Plan,
    rate: float | None = None,
) -> dict[str, Any]:
    """One load-generator run (own process) against `server`; adds the server's CPU use over the run."""
    cmd = [
        sys.executable,
        "-m",
        "loadtests.bench.loadgen",
        "--url",
        server.url + "/predict",
        "--bodies",
        str(bodies),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(plan.duration),
        "--warmup",
        str(plan.warmup),
    ]
    if rate:
        cmd += ["--rate", f"{rate:.1f}"]
    cpu0, t0 = _tree_cpu(server.pid), time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr[-2000:]}")
    res = json.loads(out.stdout)
    res["server_cpu_cores"] = round((_tree_cpu(server.pid) - cpu0) / wall, 3)
    return res


def _progress(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def http_suite(model: Path, texts: list[str], plan: Plan, work: Path) -> tuple[dict[str, Any], dict[str, float]]:
    single, mid, multi = work / "single.json", work / "mid.json", work / "multi.json"
    single.write_text(json.dumps([[t] for t in texts[:4000]]))
    mid.write_text(json.dumps([texts[i : i + MID] for i in range(0, min(len(texts), 400 * MID), MID)]))
    multi.write_text(json.dumps([texts[i : i + MULTI] for i in range(0, min(len(texts), 200 * MULTI), MULTI)]))
    targets = {
        "starlette-echo": lambda port: (servers.echo_cmd(port), {}),
        "bentoml-noop": lambda port: servers.noop(port),
        "noop-fast-path": lambda port: servers.noop(port, "NoopFastSentiment"),
        "starlette-peer": lambda port: (servers.peer_cmd(model, port), {}),
        "served-batching": lambda port: (servers.serve_cmd(model, port), {}),
        "served-no-batching": lambda port: (servers.serve_cmd(model, port, "--no-batching"), {}),
    }
    if has_int8(model):
        targets["served-int8"] = lambda port: (servers.serve_cmd(model, port, "--precision", "int8"), {})
    results: dict[str, Any] = {}
    start_s: dict[str, float] = {}
    for name, make in targets.items():
        port = free_port()
        cmd, env = make(port)
        _progress(f"starting {name}")
        with servers.started(cmd, port, env, log=work / f"{name}.log") as srv:
            start_s[name] = round(srv.start_s, 2)
            runs: dict[str, Any] = {"single": [], "mid": [], "multi": []}
            for c in plan.levels:
                r = load(srv, single, c, plan)
                _progress(f"{name} single c={c}: {r['rps']} req/s p99 {r['p99_ms']} ms {r['status']}")
                runs["single"].append(r)
            for c in plan.mid_levels:
                r = load(srv, mid, c, plan)
                _progress(f"{name} {MID}-text c={c}: {r['texts_per_s']} texts/s p99 {r['p99_ms']} ms {r['status']}")
                runs["mid"].append(r)
            for c in plan.multi_levels:
                r = load(srv, multi, c, plan)
                _progress(f"{name} {MULTI}-text c={c}: {r['texts_per_s']} texts/s p99 {r['p99_ms']} ms {r['status']}")
                runs["multi"].append(r)
            if name in ("served-batching", "served-int8"):
                sat = max(x["rps"] for x in runs["single"])
                r = load(srv, single, max(plan.levels), plan, rate=0.5 * sat)
                _progress(f"{name} paced at {0.5 * sat:.0f} req/s: p99 {r['p99_ms']} ms {r['status']}")
                runs["half_saturation"] = r
            results[name] = runs
    return results, start_s


def has_int8(model: Path) -> bool:
    from service.core.artifact import read_variant
    from service.core.manifest import read_manifest

    return read_variant(model, read_manifest(model)) is not None


def machine() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu_model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "platform": platform.platform(),
        "served_layout": served_layout(),
    }


def served_layout() -> dict[str, int]:
    """What `sentiment serve` with its defaults runs here (the settings resolve from the cores, as in the server)."""
    from service.api.settings import ServiceSettings

    s = ServiceSettings()
    return {"workers": s.workers, "model_calls": s.model_threads, "intra_op_threads": s.intra_op_threads}


def run_bench(model: Path, out_dir: Path, quick: bool = False, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    from loadtests.bench.model_bench import forward_throughput, offline_scorer, thread_layouts
    from loadtests.bench.model_limit import run_model_limit
    from service.core.artifact import load_artifact

    plan = Plan.make(quick)
    work = REPO / "build" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    texts = load_texts(data_dir)
    res: dict[str, Any] = {
        "command": "sentiment-lab bench" + (" --quick" if quick else "") + f" --model {model}",
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "plan": plan.__dict__,
        "model": json.loads((model / "manifest.json").read_text()).get("version", str(model)),
    }
    _progress("model: forward throughput")
    t0 = time.perf_counter()
    artifact = load_artifact(model, "cpu")
    res["model_load_s"] = round(time.perf_counter() - t0, 3)
    res["forward"] = forward_throughput(artifact, texts[:3000], plan.forward_seconds)
    _progress("offline scorer")
    res["offline"] = offline_scorer(artifact, texts[: plan.score_texts])
    _progress(f"offline scorer: {res['offline']['texts_per_s']} texts/s")
    res["thread_layouts"] = thread_layouts(artifact, texts[: 4096 if not quick else 1024])
    _progress(f"calls x intra-op threads: {res['thread_layouts']}")
    del artifact
    limits = [run_model_limit(model, texts[:4096], cpu_cores(), plan.limit_seconds, MULTI, cwd=REPO)]
    _progress(f"model limit ({cpu_cores()} processes): {limits[0]['texts_per_s']} texts/s")
    if has_int8(model):
        _progress("int8 variant: forward throughput and offline scorer")
        int8 = load_artifact(model, "cpu", precision="int8")
        res["forward_int8"] = forward_throughput(int8, texts[:3000], plan.forward_seconds)
        res["offline_int8"] = offline_scorer(int8, texts[: plan.score_texts])
        res["int8_variant"] = int8.variant
        _progress(f"int8 offline scorer: {res['offline_int8']['texts_per_s']} texts/s")
        del int8
    res["http"], res["cold_start_s"] = http_suite(model, texts, plan, work)
    from loadtests.bench.tracing import run_tracing

    _progress("tracing: single-text req/s at trace ratios 0, the default, 1.0")
    res["tracing"] = run_tracing(model, work, seconds=plan.duration, rounds=2 if quick else 3, data_dir=data_dir)
    limits.append(run_model_limit(model, texts[:4096], cpu_cores(), plan.limit_seconds, MULTI, cwd=REPO))
    _progress(f"model limit again, after the servers: {limits[1]['texts_per_s']} texts/s")
    # the higher of the two (before and after the servers): on a shared machine the lower one was disturbed
    res["model_limit"] = max(limits, key=lambda x: x["texts_per_s"]) | {"runs": [x["texts_per_s"] for x in limits]}
    res["ratios"] = ratios(res)
    res["bench_seconds"] = round(time.perf_counter() - t_start, 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "benchmarks.json").write_text(json.dumps(res, indent=1))
    write_report(res, out_dir)
    return res
