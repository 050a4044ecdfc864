"""In-process steps of scripts/gpu_check.py: host facts, artifact load, device-vs-CPU parity, the cost of float16 /
bfloat16, forward throughput.

Each step takes the run's `Context` and returns a dict of figures; an exception is the step's failure (recorded by
the runner, which goes on with the next step).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.core.paths import REPO

PACKAGES = ("torch", "numpy", "pyarrow", "bentoml", "pydantic", "pydantic-settings", "ray", "prometheus-client")
PARITY_ATOL = 1e-4  # fp32 device vs CPU, largest probability difference allowed


class Skip(Exception):
    """A step that cannot run here for a stated reason: recorded as skipped, does not fail the run."""


class Failed(Exception):
    """A step that ran and measured but missed its bar: recorded as failed, with its figures kept in the report."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class Sizes:
    """What a run measures: the full GPU-box sizes, or the small --quick ones (CPU rehearsal, CI)."""

    parity_texts: int
    batches: tuple[int, ...]
    min_time_s: float  # timed forward calls per batch size run at least this long
    workers: tuple[int, ...]
    load_s: float  # seconds of load per served scenario (after the warm-up)
    warmup_s: float
    # connections sending single-text requests; at most the service's max_concurrency (256) / 4 workers, so that
    # no worker can get more than its share (the 429 limit is per worker) however the connections spread
    single_concurrency: int
    batch_concurrency: int  # connections sending 64-text requests
    ray_rows: int
    train_args: tuple[str, ...]


FULL = Sizes(2000, (1, 64, 256, 1024), 1.5, (1, 2, 4), 5.0, 1.0, 64, 64, 200_000, ("--epochs", "1", "--patience", "1"))
QUICK = Sizes(200, (1, 16, 64), 0.2, (1,), 1.5, 0.5, 8, 4, 1000, ("--dry-run", "--limit", "1500"))
# GloVe (80 MB installed) cannot travel to the GPU machine: the training step's recipe has no vectors on any device
TRAIN_RECIPE = ("--vectors", "none", "--extend-vocab", "0")


@dataclass
class Context:
    device: str
    model_dir: Path
    out_dir: Path
    work_dir: Path  # scratch files (scored outputs, training output)
    sizes: Sizes
    deadline: float  # time.monotonic() when the total budget ends
    tweets: list[Any] = field(default_factory=list)  # service.core.reference.Tweet
    loadgen_procs: int = 1
    data_dir: Path | None = None  # SemEval TSVs for the training step

    def left(self) -> float:
        return self.deadline - time.monotonic()


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def nvidia_smi(query: str) -> list[str] | None:
    """Lines of ``nvidia-smi --query-gpu=QUERY`` (csv, no header/units), or None where it cannot be read."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [line.strip() for line in out.splitlines() if line.strip()]


def step_facts(ctx: Context) -> dict[str, Any]:
    import torch

    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": len(os.sched_getaffinity(0)),
        "packages": {name: _version(name) for name in PACKAGES},
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cuda_available": torch.cuda.is_available(),
        "device_count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "requested_device": ctx.device,
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        facts["gpu"] = {
            "name": props.name,
            "capability": f"{props.major}.{props.minor}",
            "memory_gib": round(props.total_memory / 2**30, 1),
            "driver": (nvidia_smi("driver_version") or [None])[0],
        }
    if ctx.device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"--device {ctx.device}, but torch {torch.__version__} sees no CUDA device")
    return facts


def step_load(ctx: Context) -> dict[str, Any]:
    """The committed TorchScript artifact, verified and loaded under the running torch, on the device."""
    import json

    import torch

    from service.core.artifact import load_artifact

    t0 = time.perf_counter()
    artifact = load_artifact(ctx.model_dir, ctx.device)  # raises ModelLoadError with the exact reason
    seconds = time.perf_counter() - t0
    manifest = json.loads((ctx.model_dir / "manifest.json").read_text(encoding="utf-8"))
    return {
        "model": str(ctx.model_dir.relative_to(REPO)) if ctx.model_dir.is_relative_to(REPO) else str(ctx.model_dir),
        "version": manifest["version"],
        "exported_with_torch": manifest.get("torch_version"),
        "running_torch": torch.__version__,
        "device": str(artifact.device),
        "load_s": round(seconds, 3),
    }


def _predictors(ctx: Context) -> tuple[Any, Any]:
    from service.core.artifact import load_artifact
    from service.core.predictor import Predictor

    dev = Predictor(load_artifact(ctx.model_dir, ctx.device))
    cpu = Predictor(load_artifact(ctx.model_dir, "cpu"))
    return dev, cpu


def step_parity(ctx: Context) -> dict[str, Any]:
    """fp32 probabilities on the device vs on the CPU for the same tweets: largest difference, label agreement."""
    import numpy as np

    texts = [t.text for t in ctx.tweets[: ctx.sizes.parity_texts]]
    dev, cpu = _predictors(ctx)
    p_dev = dev.predict_proba(texts)  # (N, C)
    p_cpu = cpu.predict_proba(texts)  # (N, C)
    diff = float(np.abs(p_dev - p_cpu).max())
    agree = float((p_dev.argmax(axis=1) == p_cpu.argmax(axis=1)).mean())
    if not np.isfinite(p_dev).all():
        raise RuntimeError("the device produced non-finite scores")
    result = {
        "texts": len(texts),
        "device": str(dev.artifact.device),
        "max_abs_diff": diff,
        "label_agreement": agree,
        "atol": PARITY_ATOL,
    }
    if diff > PARITY_ATOL:
        raise Failed(f"device vs CPU: largest probability difference {diff:.2e} > {PARITY_ATOL:.0e}", result)
    return result


HALF_AGREEMENT = 0.995  # labels of a reduced-precision forward vs fp32 on the same device


HELD_OUT = "twitter-2016test-A.tsv"  # the temporal protocol's validation + test file: never trained on


def _labelled(data_dir: Path, n: int) -> tuple[list[str], list[int]]:
    """The first `n` labelled tweets of the held-out 2016 test file, with gold label indices."""
    from service.core.evaluation import LABELS
    from service.core.semeval import read_semeval

    texts, gold = [], []
    for rec in read_semeval(data_dir / HELD_OUT):
        if len(texts) == n:
            break
        if not rec.bad and rec.label in LABELS:
            texts.append(rec.text or "")
            gold.append(LABELS.index(rec.label))
    return texts, gold


def step_half(ctx: Context) -> dict[str, Any]:
    """What a reduced-precision model would cost (not a serving option yet): the fp32 TorchScript module cast to
    float16 and bfloat16 on the device, label agreement with fp32 there (>= 99.5% to pass) and AvgRec change."""
    import numpy as np
    import torch

    from service.core.artifact import load_artifact
    from service.core.evaluation import LABELS, evaluate_predictions
    from service.core.predictor import Predictor

    if ctx.data_dir is None:
        raise FileNotFoundError("no SemEval directory (--data) for the labelled tweets")
    texts, gold = _labelled(ctx.data_dir, ctx.sizes.parity_texts)
    fp32 = Predictor(load_artifact(ctx.model_dir, ctx.device))
    p32 = fp32.predict_proba(texts)  # (N, C)
    order = [LABELS.index(label) for label in fp32.labels]

    def avg_recall(probs: np.ndarray) -> float:
        return evaluate_predictions(gold, [order[i] for i in probs.argmax(axis=1)])["avg_recall"]

    base = avg_recall(p32)
    rows = []
    for dtype in (torch.float16, torch.bfloat16):
        artifact = load_artifact(ctx.model_dir, ctx.device)
        artifact.module.to(dtype)
        p = Predictor(artifact).predict_proba(texts)
        agree = float((p.argmax(axis=1) == p32.argmax(axis=1)).mean())
        rows.append(
            {
                "dtype": str(dtype).removeprefix("torch."),
                "max_abs_diff": float(np.abs(p - p32).max()),
                "label_agreement": agree,
                "avg_recall": round(avg_recall(p), 4),
                "avg_recall_change": round(avg_recall(p) - base, 4),
            }
        )
    result = {"texts": len(texts), "device": ctx.device, "fp32_avg_recall": round(base, 4), "rows": rows}
    bad = [r["dtype"] for r in rows if r["label_agreement"] < HALF_AGREEMENT]
    if bad:
        raise Failed(f"label agreement with fp32 below {HALF_AGREEMENT:.1%} for {', '.join(bad)}", result)
    return result


def _timed(fn: Any, args: tuple[Any, ...], min_time: float, sync: Any, warmup: int = 3) -> list[float]:
    """Seconds of each call of `fn(*args)` (synchronised) until `min_time` passes, at least 3, after `warmup` calls
    (TorchScript's profiling executor optimises a graph on its first calls for a shape)."""
    for _ in range(warmup):
        fn(*args)
    sync()
    times: list[float] = []
    while sum(times) < min_time or len(times) < 3:
        t0 = time.perf_counter()
        fn(*args)
        sync()
        times.append(time.perf_counter() - t0)
    return times


def step_throughput(ctx: Context) -> dict[str, Any]:
    """Texts/s of the TorchScript forward at each batch size (tensors already on the device; CUDA-synchronised;
    the median call), and of the whole in-process path (encode + sort + collate + forward) at the same sizes."""
    import torch

    from service.core.artifact import load_artifact
    from service.core.features import collate
    from service.core.predictor import Predictor

    artifact = load_artifact(ctx.model_dir, ctx.device)
    predictor = Predictor(artifact, max_batch_size=max(ctx.sizes.batches))
    dev = artifact.device
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    texts = [t.text for t in ctx.tweets]
    rows = []
    for batch in ctx.sizes.batches:
        if ctx.left() < 5:
            raise TimeoutError(f"time budget spent before batch {batch}")
        chunk = [texts[i % len(texts)] for i in range(batch)]
        word, sub, lengths = collate(predictor.encode(chunk))  # (B, T) (B, T, S) (B,)
        args = (word.to(dev), sub.to(dev), lengths)
        with torch.no_grad():
            fwd = statistics.median(_timed(artifact.module, args, ctx.sizes.min_time_s, sync))
        e2e = statistics.median(_timed(predictor.predict_proba, (chunk,), ctx.sizes.min_time_s, sync, warmup=1))
        rows.append(
            {
                "batch": batch,
                "padded_len": int(word.shape[1]),
                "forward_ms": round(fwd * 1000, 3),  # median call
                "forward_texts_per_s": round(batch / fwd, 1),
                "e2e_ms": round(e2e * 1000, 3),
                "e2e_texts_per_s": round(batch / e2e, 1),
            }
        )
    return {"device": str(dev), "torch_threads": torch.get_num_threads(), "rows": rows}
