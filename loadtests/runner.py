"""`sentiment-lab loadtest` / `make loadtest`: a bounded, headless locust run against a server on 127.0.0.1.

Starts `sentiment serve` on a free port (unless ``--url`` names a running loopback server), runs
loadtests/locustfile.py, and writes to the output directory: locust's CSV stats (``loadtest_<scenario>_*.csv``),
its HTML report (``loadtest_<scenario>.html``) and a summary (``loadtest_<scenario>_summary.{json,md}``: req/s,
texts/s, p50/p95/p99, errors).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from service.core.paths import REPO

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MAX_USERS, MAX_SECONDS = 256, 600
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class LoadTestError(ValueError):
    pass


def summarize(prefix: Path, seconds: float, texts: int | None) -> dict[str, Any]:
    """Per-endpoint and total figures from locust's ``<prefix>_stats.csv``."""
    stats = prefix.with_name(prefix.name + "_stats.csv")
    if not stats.exists():
        raise LoadTestError(f"locust wrote no stats ({stats} is missing)")
    rows = {}
    with stats.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
                "max_ms": round(float(row["Max Response Time"] or 0), 1),
            }
    total = rows.pop("Aggregated", None)
    if total is None:
        raise LoadTestError(f"{stats} has no Aggregated row")
    failures = prefix.with_name(prefix.name + "_failures.csv")
    errors: list[dict[str, str]] = []
    if failures.exists():
        with failures.open(newline="", encoding="utf-8") as f:
            errors = [{"name": r["Name"], "error": r["Error"], "count": r["Occurrences"]} for r in csv.DictReader(f)]
    return {
        **total,
        "texts": texts,
        "texts_per_s": round(texts / seconds, 1) if texts is not None else None,
        "error_rate": round(total["failures"] / total["requests"], 4) if total["requests"] else None,
        "by_request": rows,
        "errors": errors,
    }


def _markdown(s: dict[str, Any], scenario: str, cmd: str) -> str:
    lines = [
        f"# Load test: {scenario}",
        "",
        f"`{cmd}`",
        "",
        f"- requests: {s['requests']}, failures: {s['failures']} (error rate {s['error_rate']})",
        f"- throughput: {s['rps']} req/s, {s['texts_per_s']} texts/s",
        f"- latency: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, max {s['max_ms']} ms",
        "",
        "| request | count | failures | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in s["by_request"].items():
        cells = [name, r["requests"], r["failures"], r["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if s["errors"]:
        lines += ["", "Errors:", *[f"- {e['name']}: {e['error']} x{e['count']}" for e in s["errors"]]]
    return "\n".join(lines) + "\n"


def run_loadtest(
    *,
    model: Path,
    url: str | None,
    users: int,
    spawn_rate: float,
    run_time: int,
    out_dir: Path,
    scenario: str = "mixed",
) -> int:
    if not 1 <= users <= MAX_USERS:
        raise LoadTestError(f"--users must be in 1..{MAX_USERS}, got {users}")
    if not 1 <= run_time <= MAX_SECONDS:
        raise LoadTestError(f"--run-time must be in 1..{MAX_SECONDS} seconds, got {run_time}")
    if url is not None and urlsplit(url).hostname not in LOOPBACK:
        raise LoadTestError(f"load tests target loopback only (127.0.0.1), not {url}")
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / f"loadtest_{scenario}"
    texts_file = prefix.with_name(prefix.name + "_texts.json")
    texts_file.unlink(missing_ok=True)
    with ExitStack() as stack:
        if url is None:
            from loadtests.bench import servers
            from service.api.launcher import free_port

            port = free_port()
            log = out_dir / f"loadtest_{scenario}-server.log"
            srv = stack.enter_context(servers.started(servers.serve_cmd(model, port), port, log=log))
            url = srv.url
        cmd = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            url,
            "-u",
            str(users),
            "-r",
            str(spawn_rate),
            "-t",
            f"{run_time}s",
            "--stop-timeout",
            "5",
            "--csv",
            str(prefix),
            "--html",
            str(prefix) + ".html",
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "LOCUST_SCENARIO": scenario,
            "LOCUST_MAX_USERS": str(users),
            "LOCUST_RUN_TIME": str(run_time),
            "LOCUST_TEXTS_FILE": str(texts_file),
        }
        proc = subprocess.run(cmd, cwd=REPO, env=env, timeout=run_time + 120)
    texts = json.loads(texts_file.read_text())["texts"] if texts_file.exists() else None
    texts_file.unlink(missing_ok=True)
    summary = summarize(prefix, run_time, texts)
    summary.update({"scenario": scenario, "users": users, "run_time_s": run_time, "locust_exit_code": proc.returncode})
    shown = f"sentiment-lab loadtest --scenario {scenario} --users {users} --run-time {run_time}"
    prefix.with_name(prefix.name + "_summary.json").write_text(json.dumps(summary, indent=1))
    prefix.with_name(prefix.name + "_summary.md").write_text(_markdown(summary, scenario, shown))
    print(_markdown(summary, scenario, shown))
    return 0 if proc.returncode == 0 and summary["failures"] == 0 else 1
