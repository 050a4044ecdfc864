"""`sentiment serve`: flags -> ``SENTIMENT_*`` variables -> validated settings -> BentoML server.

The server runs in this process (it becomes BentoML's process supervisor) instead of exec'ing
``bentoml serve``: one interpreter start and one torch/bentoml import fewer before the workers start,
which is most of the cold-start time. SIGTERM stops accepting connections and lets in-flight requests finish.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from service.core.paths import REPO

# flag dest -> (settings field, type, help)
FLAGS: dict[str, tuple[str, type, str]] = {
    "model": ("model_dir", str, "model directory (default: models/default)"),
    "host": ("host", str, "bind address (default: 127.0.0.1; 0.0.0.0 exposes it to the network)"),
    "port": ("port", int, "port (default: 3000)"),
    "workers": (
        "workers",
        int,
        "worker processes, each with its own event loop and batch queue (default: 0 = one per core, <= 4; GPU: 1)",
    ),
    "threads": ("threads", int, "torch intra-op threads per model call (default: 0 = sized from the cores)"),
    "model_threads": ("model_threads", int, "model calls a worker runs at once (default: 0 = one per CPU core)"),
    "device": ("device", str, "auto | cpu | cuda | cuda:N (default: auto = CUDA when available)"),
    "precision": ("precision", str, "fp32 | int8 (default: fp32; int8: CPU only, faster, see docs)"),
    "max_batch_size": ("max_batch_size", int, "texts per model batch (default: 256)"),
    "max_latency_ms": ("max_latency_ms", int, "batcher latency budget in ms (default: 2000)"),
    "max_batch_wait_ms": ("max_batch_wait_ms", float, "longest wait to fill a batch while idle, ms (default: 5)"),
    "max_texts": ("max_texts", int, "texts per request (default: 256)"),
    "cpu_chunk": ("cpu_chunk", int, "texts per model forward call on a CPU (default: 64)"),
    "max_text_chars": ("max_text_chars", int, "characters per text (default: 2000)"),
    "max_body_bytes": ("max_body_bytes", int, "request body limit in bytes (default: 1048576)"),
    "max_concurrency": ("max_concurrency", int, "API requests in flight before 429 (default: 256)"),
    "timeout": ("timeout_s", int, "request timeout in seconds (default: 30)"),
    "api_key": ("api_key", str, "require 'Authorization: Bearer KEY' (default: none; prefer SENTIMENT_API_KEY)"),
}


def add_serve_args(p: argparse.ArgumentParser) -> None:
    for dest, (_, typ, help_) in FLAGS.items():
        p.add_argument(f"--{dest.replace('_', '-')}", dest=dest, type=typ, default=None, help=help_)
    p.add_argument("--no-batching", action="store_true", help="serve the same model without adaptive batching")
    p.add_argument("--no-access-log", action="store_true", help="no JSON access-log line per request")
    p.add_argument(
        "--no-fast-path",
        action="store_true",
        help="answer /predict through BentoML's own handler (slower, same answers)",
    )


def settings_env(args: argparse.Namespace) -> dict[str, str]:
    env: dict[str, str] = {}
    for dest, (field, _, _) in FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            env[f"SENTIMENT_{field.upper()}"] = str(value)
    if getattr(args, "no_batching", False):
        env["SENTIMENT_BATCHING"] = "false"
    if getattr(args, "no_access_log", False):
        env["SENTIMENT_ACCESS_LOG"] = "false"
    if getattr(args, "no_fast_path", False):
        env["SENTIMENT_FAST_PATH"] = "false"
    return env


def serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    os.environ.update(settings_env(args))
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")  # no usage analytics calls home
    from service.api.settings import ServiceSettings

    try:  # validate now, with a clear message, rather than in every worker
        s = ServiceSettings()
    except ValidationError as e:
        lines = [f"  SENTIMENT_{'_'.join(map(str, err['loc'])).upper()}: {err['msg']}" for err in e.errors()]
        print("error: invalid settings:\n" + "\n".join(lines), file=sys.stderr)
        return 2
    model_dir = Path(s.model_dir).resolve()
    problem = preflight(model_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    os.environ["SENTIMENT_MODEL_DIR"] = str(model_dir)  # workers start in the repo root
    if s.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {s.host}: reachable from the network", file=sys.stderr)
    os.chdir(REPO)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    fd, error_file = tempfile.mkstemp(prefix="sentiment-startup-", suffix=".txt")
    os.close(fd)
    os.environ["SENTIMENT_STARTUP_ERROR_FILE"] = error_file
    # BentoML keeps multi-process metrics in ~/bentoml/prometheus_multiproc_dir and wipes it on start: a second
    # server on the host would erase this one's counters. Each server gets its own directory.
    metrics_dir = tempfile.mkdtemp(prefix="sentiment-prometheus-")
    try:
        from service.api.app import TweetSentiment
        from service.api.bentoml_adapter import use_prometheus_dir

        use_prometheus_dir(metrics_dir)
        TweetSentiment.serve_http(host=s.host, port=s.port)
        message = Path(error_file).read_text(encoding="utf-8").strip()
    finally:
        Path(error_file).unlink(missing_ok=True)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    if message:  # a worker could not load the model (full checks: sha256, versions, TorchScript)
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


def preflight(model_dir: Path) -> str | None:
    """Cheap checks before any worker starts (no torch import: that would double the cold start).
    The worker then verifies everything (service.core.artifact.load_artifact) and reports through a file."""
    if not model_dir.is_dir():
        return f"model directory not found: {model_dir}"
    manifest = model_dir / "manifest.json"
    if not manifest.is_file():
        return f"no manifest.json in {model_dir}: not a model directory"
    try:
        files = json.loads(manifest.read_bytes())["files"]
        missing = [name for name in files if not (model_dir / name).is_file()]
    except (ValueError, KeyError, TypeError) as e:
        return f"{manifest} is not a valid manifest: {e}"
    if missing:
        return f"{model_dir / missing[0]} is missing (listed in the manifest)"
    return None
