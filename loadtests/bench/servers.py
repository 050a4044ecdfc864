"""Start and stop the servers under test (each in its own process group, always stopped), and time their start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loadtests.servers import stop_group, wait_ready

REPO = Path(__file__).resolve().parent.parent.parent


@dataclass
class Server:
    name: str
    url: str
    pid: int
    start_s: float  # process start -> /readyz answers 200


@contextmanager
def started(
    name: str, cmd: list[str], port: int, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[Server]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    out = open(log, "wb") if log else subprocess.DEVNULL
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, timeout=180)
        yield Server(name, url, proc.pid, time.perf_counter() - t0)
    finally:
        stop_group(proc)
        if log:
            out.close()  # type: ignore[union-attr]


def echo_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "loadtests.bench.echo_app", "--port", str(port)]


def serve_cmd(model: Path, port: int, *flags: str) -> list[str]:
    return [sys.executable, "-m", "service.cli", "serve", "--model", str(model), "--port", str(port), *flags]


def noop(port: int, target: str = "NoopSentiment") -> tuple[list[str], dict[str, str]]:
    """A no-op service (`NoopSentiment` or `NoopFastSentiment`), with the same options as the real one."""
    cmd = [sys.executable, "-m", "bentoml", "serve", f"loadtests.bench.noop_service:{target}"]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    return cmd, {}


def peer_cmd(model: Path, port: int) -> list[str]:
    """The hand-written Starlette peer (loadtests/bench/peer_app.py) on the same model."""
    return [sys.executable, "-m", "loadtests.bench.peer_app", "--model", str(model), "--port", str(port)]
