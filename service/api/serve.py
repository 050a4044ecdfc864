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

# flag dest -> settings field: the flag's type, default and help are the field's (service/api/settings.py)
FLAGS: dict[str, str] = {
    "model": "model_dir",
    "host": "host",
    "port": "port",
    "workers": "workers",
    "threads": "threads",
    "model_threads": "model_threads",
    "device": "device",
    "precision": "precision",
    "max_batch_size": "max_batch_size",
    "max_latency_ms": "max_latency_ms",
    "max_batch_wait_ms": "max_batch_wait_ms",
    "max_texts": "max_texts",
    "cpu_chunk": "cpu_chunk",
    "max_text_chars": "max_text_chars",
    "max_body_bytes": "max_body_bytes",
    "max_concurrency": "max_concurrency",
    "timeout": "timeout_s",
    "api_key": "api_key",
}


def flag_of(field: str) -> tuple[type, str]:
    """The argparse type and help of the flag of settings `field`: its description, default and variable."""
    from service.api.settings import ServiceSettings

    info = ServiceSettings.model_fields[field]
    default = info.default
    if isinstance(default, Path) and default.is_relative_to(REPO):
        default = default.relative_to(REPO)
    typ = info.annotation if info.annotation in (int, float) else str
    shown = "none" if default is None else default
    return typ, f"{info.description} (default: {shown}; SENTIMENT_{field.upper()})"  # type: ignore[return-value]


def add_serve_args(p: argparse.ArgumentParser) -> None:
    for dest, field in FLAGS.items():
        typ, help_ = flag_of(field)
        p.add_argument(f"--{dest.replace('_', '-')}", dest=dest, type=typ, default=None, help=help_)
    p.add_argument("--no-batching", action="store_true", help="serve the same model without adaptive batching")
    p.add_argument("--no-access-log", action="store_true", help="no JSON access-log line per request")


def settings_env(args: argparse.Namespace) -> dict[str, str]:
    env: dict[str, str] = {}
    for dest, field in FLAGS.items():
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
