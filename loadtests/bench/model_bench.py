"""In-process measurements: raw TorchScript forward throughput by batch size and text length, and the offline
scorer (`sentiment score`) end to end."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from service.batch.engines.local import score_file
from service.core.artifact import Artifact
from service.core.features import collate
from service.core.predictor import Predictor

BATCH_SIZES = (1, 8, 32, 128, 512)
LENGTH_BUCKETS = {"short (<=12 tokens)": (1, 12), "medium (13-30)": (13, 30), "long (31+)": (31, 10_000)}


def texts_by_length(predictor: Predictor, texts: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {name: [] for name in LENGTH_BUCKETS}
    for t in texts:
        n = predictor.encoder.encode(t).length
        for name, (lo, hi) in LENGTH_BUCKETS.items():
            if lo <= n <= hi:
                out[name].append(t)
    return out


def _time_calls(fn: Any, min_seconds: float) -> float:
    """Seconds per call: repeat until `min_seconds` have passed (after one warm-up call)."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= min_seconds:
            return el / n


@torch.no_grad()
def forward_throughput(artifact: Artifact, texts: Sequence[str], min_seconds: float = 0.5) -> list[dict[str, Any]]:
    """Texts/s of the TorchScript module alone (inputs already encoded and padded), per batch size and length."""
    predictor = Predictor(artifact)
    rows = []
    for bucket, pool in texts_by_length(predictor, texts).items():
        if not pool:
            continue
        encoded = [predictor.encoder.encode(t) for t in pool]
        for bs in BATCH_SIZES:
            batch = [encoded[i % len(encoded)] for i in range(bs)]
            word, sub, lengths = collate(batch)  # (B,T) (B,T,S) (B,)
            per_call = _time_calls(lambda w=word, s=sub, n=lengths: artifact.module(w, s, n), min_seconds)
            encode_s = _time_calls(lambda b=batch: collate(b), min_seconds / 4)
            rows.append(
                {
                    "length": bucket,
                    "batch_size": bs,
                    "mean_tokens": round(float(lengths.float().mean()), 1),
                    "forward_texts_per_s": round(bs / per_call, 1),
                    "forward_ms_per_batch": round(per_call * 1000, 3),
                    "collate_ms_per_batch": round(encode_s * 1000, 3),
                }
            )
    return rows


def offline_scorer(artifact: Artifact, texts: Sequence[str], repeats: int = 1) -> dict[str, Any]:
    """`sentiment score` on a JSONL file of `texts` (the same code path as the CLI, without the progress bar: one
    model call per core, 1 intra-op thread each; this process's torch threads are restored afterwards)."""
    before = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        with src.open("w", encoding="utf-8") as f:
            for _ in range(repeats):
                for i, t in enumerate(texts):
                    f.write(json.dumps({"id": i, "text": t}) + "\n")
        summary = score_file(artifact, str(src), str(dst), progress=False)
    torch.set_num_threads(before)
    return {
        "rows": summary.rows,
        "seconds": round(summary.seconds, 3),
        "texts_per_s": round(summary.rows_per_second, 1),
    }


LAYOUTS = ((1, 2), (1, 1), (2, 1))  # (concurrent model calls, intra-op threads per call)


def thread_layouts(artifact: Artifact, texts: Sequence[str], window: int = 256) -> list[dict[str, Any]]:
    """Texts/s of `texts` scored in `window`-text batches, one pass per layout of `LAYOUTS` (calls x threads):
    one call with N intra-op threads against N concurrent calls with one (service/core/parallel.py)."""
    from service.core.parallel import ParallelProba

    before = torch.get_num_threads()
    predictor = Predictor(artifact)
    windows = [list(texts[i : i + window]) for i in range(0, len(texts), window)]
    rows = []
    try:
        for calls, threads in LAYOUTS:
            torch.set_num_threads(threads)
            proba = ParallelProba(predictor, calls)
            proba(windows[0])  # warm-up
            t0 = time.perf_counter()
            for w in windows:
                proba(w)
            el = time.perf_counter() - t0
            proba.close()
            rows.append({"calls": calls, "intra_op_threads": threads, "texts_per_s": round(len(texts) / el, 1)})
    finally:
        torch.set_num_threads(before)
    return rows
