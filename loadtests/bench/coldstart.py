"""Cold start of `sentiment serve`: process start -> ``/readyz`` 200 (model loaded and warmed up).

    python -m loadtests.bench.coldstart --model models/default [--runs 3] [--json] [-- extra serve flags]

Starts the real server on 127.0.0.1 and a free port, polls ``/readyz`` every 20 ms, times the first
``/predict`` too, then stops it with SIGTERM (SIGKILL after 20 s). `measure_cold_start` is what a
benchmark (`sentiment-lab bench`) can call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from service.api.launcher import free_port, stop_group
from service.core.paths import REPO


def _status(url: str, data: bytes | None = None) -> int:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def measure_cold_start(
    model_dir: str | Path, extra_args: list[str] | None = None, timeout: float = 120.0, repo: str | Path = REPO
) -> dict[str, Any]:
    """Seconds from spawning `sentiment serve` to the first 200 of /readyz and of /predict. `repo` may be another
    checkout (e.g. an older commit) to compare with."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "service.cli", "serve", "--model", str(model_dir), "--port", str(port)]
    cmd += [*(extra_args or [])]
    env = {**os.environ, "PYTHONPATH": str(Path(repo).resolve()), "BENTOML_DO_NOT_TRACK": "True"}
    log = tempfile.TemporaryFile()  # the server's output, shown if it fails (a pipe could fill up and block it)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while _status(url + "/readyz") != 200:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"server exited with {proc.returncode} before it was ready:\n{err}")
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"server not ready after {timeout:.0f} s")
            time.sleep(0.02)
        ready_s = time.perf_counter() - t0
        status = _status(url + "/predict", json.dumps({"texts": ["cold start check"]}).encode())
        first_predict_s = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError(f"first /predict answered {status}")
        return {"ready_s": round(ready_s, 3), "first_predict_s": round(first_predict_s, 3)}
    finally:
        stop_group(proc)
        log.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.bench.coldstart", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(REPO / "models" / "default"), help="model directory")
    p.add_argument("--runs", type=int, default=3, help="server starts to time (default: 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--repo", default=str(REPO), help="checkout whose `sentiment serve` is timed (default: this one)")
    p.add_argument("serve_args", nargs="*", help="extra `sentiment serve` flags (after --)")
    args = p.parse_args(argv)
    runs = []
    for i in range(args.runs):
        r = measure_cold_start(Path(args.model).resolve(), args.serve_args, repo=args.repo)
        runs.append(r)
        if not args.json:
            print(
                f"run {i + 1}: /readyz 200 after {r['ready_s']:.2f} s, "
                f"first /predict after {r['first_predict_s']:.2f} s"
            )
    summary = {
        "runs": runs,
        "ready_s_median": statistics.median(r["ready_s"] for r in runs),
        "ready_s_min": min(r["ready_s"] for r in runs),
        "cpu_count": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"cold start (process start -> /readyz 200): median {summary['ready_s_median']:.2f} s, "
            f"min {summary['ready_s_min']:.2f} s over {len(runs)} runs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
