"""The model limit of this machine: one process per core, each with 1 intra-op thread, scoring real tweets with the
in-process `Predictor` on 64-text batches (encode + forward + nothing else), all at the same time; texts/s summed.

No server can do more model work than this on the same cores, so every served figure is reported as a fraction
of it. The processes load the model, warm up, tell the parent they are ready, and start together when it says go.

``python -m loadtests.bench.model_limit --model models/default --texts texts.json --seconds 4`` is one child.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BATCH = 64


def child(model: Path, texts: list[str], seconds: float, batch: int) -> dict[str, Any]:
    """Score `texts` in `batch`-text calls for `seconds` after the parent's go (a line on stdin)."""
    import torch

    from service.core.artifact import load_artifact
    from service.core.predictor import Predictor

    torch.set_num_threads(1)
    predictor = Predictor(load_artifact(model, "cpu"))
    batches = [texts[i : i + batch] for i in range(0, len(texts) - batch + 1, batch)] or [texts]
    for b in batches[:4]:
        predictor.predict_proba(b)  # warm-up: TorchScript profiles and optimises on the first calls
    print("ready", flush=True)
    sys.stdin.readline()
    n, k, cpu0, t0 = 0, 0, time.process_time(), time.perf_counter()
    while (el := time.perf_counter() - t0) < seconds:
        b = batches[k % len(batches)]
        predictor.predict_proba(b)
        n, k = n + len(b), k + 1
    return {"texts": n, "seconds": round(el, 3), "texts_per_s": round(n / el, 1), "cpu_s": time.process_time() - cpu0}


def run_model_limit(
    model: Path, texts: list[str], processes: int, seconds: float, batch: int = BATCH, cwd: Path | None = None
) -> dict[str, Any]:
    """`processes` children started together; their texts/s summed (the model limit)."""
    with tempfile.TemporaryDirectory(prefix="model-limit-") as tmp:
        src = Path(tmp) / "texts.json"
        src.write_text(json.dumps(texts))
        cmd = [sys.executable, "-m", "loadtests.bench.model_limit", "--model", str(model), "--texts", str(src)]
        cmd += ["--seconds", str(seconds), "--batch", str(batch)]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        procs = [
            subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(processes)
        ]
        try:
            for p in procs:
                assert p.stdout is not None and p.stdin is not None
                line = p.stdout.readline().strip()
                if line != "ready":
                    raise RuntimeError(f"model-limit child exited before it was ready (said {line!r})")
            for p in procs:
                p.stdin.write("go\n")  # type: ignore[union-attr]
                p.stdin.flush()  # type: ignore[union-attr]
            results = []
            for p in procs:
                out, _ = p.communicate(timeout=seconds + 120)
                if p.returncode != 0:
                    raise RuntimeError(f"model-limit child failed with exit code {p.returncode}")
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    return {
        "processes": processes,
        "batch": batch,
        "intra_op_threads": 1,
        "seconds": seconds,
        "texts_per_s": round(sum(r["texts_per_s"] for r in results), 1),
        "per_process": results,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--texts", required=True, help="JSON file: a list of texts (cycled)")
    p.add_argument("--seconds", type=float, default=4.0, help="how long to score after the go")
    p.add_argument("--batch", type=int, default=BATCH, help="texts per Predictor call")
    a = p.parse_args(argv)
    texts = json.loads(Path(a.texts).read_text(encoding="utf-8"))
    print(json.dumps(child(Path(a.model), texts, a.seconds, a.batch)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
