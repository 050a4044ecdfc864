"""Served throughput of two models side by side, in one run: each model behind its own `sentiment serve` (same
flags), loaded in alternating rounds by the stdlib load generator with single-text requests (64 connections)
and 64-text requests (8 connections) of real tweets, so a busy machine slows both alike.

    python -m loadtests.bench.compare_models build/old-default models/default --rounds 3 --seconds 8 \\
        --json docs/model-serving-compare.json

`build/old-default` is the previous default: `mkdir -p build/old-default && git archive 099af3f^ models/default |
tar -x -C build/old-default --strip-components=2`. Prints a table of medians and the ratio second ÷ first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from service.api.launcher import serving
from service.core.paths import REPO
from service.core.reference import clean_tweets

SHAPES = {"single-text": (1, 64), "64-text": (64, 8)}  # texts per request, connections


def load(url: str, bodies: Path, connections: int, seconds: float) -> dict:
    """One closed-loop load run in its own process (its CPU is not the server's)."""
    cmd = [sys.executable, "-m", "loadtests.bench.loadgen", "--url", url + "/predict", "--bodies", str(bodies)]
    cmd += ["--concurrency", str(connections), "--duration", str(seconds)]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True, timeout=seconds + 120)
    return json.loads(out.stdout)


def compare(models: list[Path], rounds: int, seconds: float, serve_args: list[str]) -> dict:
    texts = [t.text for t in clean_tweets(2000)]
    result: dict = {"models": [str(m) for m in models], "rounds": rounds, "seconds": seconds, "runs": []}
    result["load_before"] = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        files = {}
        for shape, (size, _) in SHAPES.items():
            files[shape] = Path(tmp) / f"{shape}.json"
            files[shape].write_text(json.dumps([texts[i : i + size] for i in range(0, len(texts), size)]))
        urls = [stack.enter_context(serving(m, *serve_args, "--no-access-log")).url for m in models]
        for k in range(rounds):
            for shape, (_, connections) in SHAPES.items():
                for model, url in zip(models, urls, strict=True):
                    s = load(url, files[shape], connections, seconds)
                    row = {"round": k, "shape": shape, "model": str(model), **{x: s[x] for x in KEEP}}
                    result["runs"].append(row)
                    print(json.dumps(row), file=sys.stderr)
    result["load_after"] = os.getloadavg()[0]
    result["summary"] = summarise(result["runs"], models)
    return result


KEEP = ("rps", "texts_per_s", "p50_ms", "p99_ms", "non_200", "connection_errors")


def summarise(runs: list[dict], models: list[Path]) -> dict:
    out = {}
    for shape in SHAPES:
        med = {
            str(m): statistics.median(r["texts_per_s"] for r in runs if r["shape"] == shape and r["model"] == str(m))
            for m in models
        }
        first, second = (med[str(m)] for m in models[:2])
        errors = sum(r["non_200"] + r["connection_errors"] for r in runs if r["shape"] == shape)
        out[shape] = {"median_texts_per_s": med, "ratio_second_to_first": round(second / first, 3), "errors": errors}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m loadtests.bench.compare_models",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("models", nargs=2, type=Path, help="two model directories (first = the reference)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per request shape (default: 3)")
    p.add_argument("--seconds", type=float, default=8.0, help="seconds of load per run (default: 8)")
    p.add_argument("--json", type=Path, default=None, help="write the result here as JSON")
    p.add_argument("--serve-arg", action="append", default=[], help="extra flag for both servers (repeatable)")
    args = p.parse_args(argv)
    for m in args.models:
        if not (m / "manifest.json").is_file():
            p.error(f"{m} is not a model directory (no manifest.json)")
    result = compare(args.models, args.rounds, args.seconds, args.serve_arg)
    for shape, s in result["summary"].items():
        a, b = (s["median_texts_per_s"][str(m)] for m in args.models)
        line = f"{shape:12s} {args.models[0]}: {a:8.1f} texts/s   {args.models[1]}: {b:8.1f}"
        print(f"{line}   ratio {s['ratio_second_to_first']:.3f}   errors {s['errors']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
