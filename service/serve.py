"""`sentiment serve`: flags -> ``SENTIMENT_*`` variables -> validated settings -> BentoML server.

The server runs in this process (it becomes BentoML's process supervisor) instead of exec'ing
``bentoml serve``: one interpreter start and one torch/bentoml import fewer before the workers start,
which is most of the cold-start time. SIGTERM stops accepting connections and lets in-flight requests finish.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# flag dest -> (settings field, type, help)
FLAGS: dict[str, tuple[str, type, str]] = {
    "model": ("model_dir", str, "model directory (default: models/default)"),
    "host": ("host", str, "bind address (default: 127.0.0.1; 0.0.0.0 exposes it to the network)"),
    "port": ("port", int, "port (default: 3000)"),
    "workers": ("workers", int, "worker processes, each with its own batch queue (default: 1)"),
    "threads": ("threads", int, "torch threads per worker (default: 0 = CPU cores / workers)"),
    "device": ("device", str, "auto | cpu | cuda | cuda:N (default: auto = CUDA when available)"),
    "max_batch_size": ("max_batch_size", int, "texts per model batch (default: 256)"),
    "max_latency_ms": ("max_latency_ms", int, "batcher latency budget in ms (default: 2000)"),
    "max_texts": ("max_texts", int, "texts per request (default: 256)"),
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
    return env


def serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    os.environ.update(settings_env(args))
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")  # no usage analytics calls home
    from service.settings import ServiceSettings

    try:  # validate now, with a clear message, rather than in every worker
        s = ServiceSettings()
    except ValidationError as e:
        lines = [f"  SENTIMENT_{'_'.join(map(str, err['loc'])).upper()}: {err['msg']}" for err in e.errors()]
        print("error: invalid settings:\n" + "\n".join(lines), file=sys.stderr)
        return 2
    os.environ["SENTIMENT_MODEL_DIR"] = str(Path(s.model_dir).resolve())  # workers start in the repo root
    from service.artifact import ModelLoadError, load_artifact

    try:
        load_artifact(s.model_dir, "cpu")
    except ModelLoadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if s.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {s.host}: reachable from the network", file=sys.stderr)
    os.chdir(REPO)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    from service.app import TweetSentiment

    TweetSentiment.serve_http(host=s.host, port=s.port)
    return 0
