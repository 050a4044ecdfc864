"""In-process forward speed of exported models, one intra-op thread, measured side by side in one process.

    python -m training.speed models/default build/runs/t-base build/runs/t-all --json docs/speed.json

A proxy for served single-text throughput (the service benchmark, `sentiment bench`, is the real measure): for
each model, texts of the temporal validation half are encoded once through the model's own encoder (tokenizer +
features: the per-request Python cost, reported separately), then run through `Predictor.forward` one text per
call (batch 1) and 64 texts per call (batch 64). Rounds alternate between the models, so a slow spell of the
shared machine hits them all; the best round of each is reported (texts/s).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from service.core.artifact import load_artifact
from service.core.manifest import INT8_FILE
from service.core.predictor import Predictor
from training.config import TrainConfig
from training.data import load_splits


def _rate(fn: Any, n: int) -> float:
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def measure(model_dirs: list[Path], texts: list[str], rounds: int = 3, single: int = 300) -> dict[str, Any]:
    torch.set_num_threads(1)
    preds = {str(d): Predictor(load_artifact(d, "cpu")) for d in model_dirs}
    encoded = {k: p.encode(texts) for k, p in preds.items()}
    for k, p in preds.items():  # warm-up
        p.forward(encoded[k][:64])
    best: dict[str, dict[str, float]] = {k: {"batch1": 0.0, "batch64": 0.0, "encode": 0.0} for k in preds}
    for _ in range(rounds):
        for k, p in preds.items():
            enc = encoded[k]
            r1 = _rate(lambda p=p, enc=enc: [p.forward([e]) for e in enc[:single]], single)
            r64 = _rate(lambda p=p, enc=enc: p.forward(enc), len(enc))
            re = _rate(lambda p=p: p.encode(texts[:single]), single)
            b = best[k]
            b["batch1"], b["batch64"], b["encode"] = max(b["batch1"], r1), max(b["batch64"], r64), max(b["encode"], re)
    return {
        k: {
            "forward_batch1_texts_per_s": round(v["batch1"], 1),
            "forward_batch64_texts_per_s": round(v["batch64"], 1),
            "encode_texts_per_s": round(v["encode"], 1),
            "model_mb": round(sum(f.stat().st_size for f in Path(k).iterdir() if f.name != INT8_FILE) / 2**20, 2),
        }
        for k, v in best.items()
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.speed", description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="exported model directories")
    p.add_argument("--texts", type=int, default=1280, help="validation texts per measurement (default: 1280)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best is kept (default: 3)")
    p.add_argument("--json", default=None, help="also write the results here (merged into an existing file)")
    args = p.parse_args(argv)
    cfg = TrainConfig()
    splits = load_splits(cfg.data_dir, protocol="temporal")
    texts = [e.text for e in splits.val[: args.texts]]
    result = measure([Path(m) for m in args.models], texts, args.rounds)
    print(json.dumps(result, indent=2))
    if args.json:
        path = Path(args.json)
        old = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**old, **result}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
