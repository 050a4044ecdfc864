"""The one server launcher: start a server process in its own session on 127.0.0.1, wait until ``/readyz``
answers 200, always stop its whole process group afterwards (SIGTERM, then SIGKILL).

A product utility (standard library only, imports nothing of the service): the tests' server fixtures, the
tooling (`sentiment-lab bench`, the cold-start measurement, the reliability harness) and scripts/docker_e2e.py
start `sentiment serve`, the bench's reference servers and `bentoml serve` through it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service.core.paths import REPO


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(model_dir: Path | str, port: int, *args: str) -> list[str]:
    """`sentiment serve` of `model_dir` on 127.0.0.1:`port` with extra flags, in this interpreter."""
    return [sys.executable, "-m", "service.cli", "serve", "--model", str(model_dir), "--port", str(port), *args]


def wait_ready(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 120.0, poll: float = 0.1
) -> float:
    """Seconds until ``url/readyz`` answers 200; raises if `proc` exits first or `timeout` passes."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(poll)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s")


def stop_group(proc: subprocess.Popen[bytes], grace: float = 20.0) -> int:
    """SIGTERM the process group led by `proc`, SIGKILL it after `grace` seconds, then SIGKILL whatever of the
    group outlived its leader (a worker that ignored the signal); returns the leader's exit code."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode if proc.returncode is not None else -1


@dataclass
class Launched:
    url: str
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    start_s: float  # process start -> /readyz answered 200

    @property
    def pid(self) -> int:
        return self.proc.pid


@contextmanager
def launched(
    command: Callable[[int], list[str]],
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    ready_timeout: float = 120.0,
    grace: float = 20.0,
) -> Iterator[Launched]:
    """Run `command(port)` (a free port unless given) from the repository root with the repository on
    PYTHONPATH (`env` may override it, e.g. ``{"PYTHONPATH": ""}``), its output to `log_path` or nowhere, until
    ``/readyz`` is 200; yield it; always stop its process group."""
    port = port or free_port()
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command(port), cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, ready_timeout)
        yield Launched(url, "127.0.0.1", port, proc, time.perf_counter() - t0)
    finally:
        stop_group(proc, grace)
        if log_path:
            log.close()  # type: ignore[union-attr]


@contextmanager
def serving(
    model_dir: Path | str,
    *args: str,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    ready_timeout: float = 120.0,
) -> Iterator[Launched]:
    """`sentiment serve` of `model_dir` with `args` on 127.0.0.1 and a free port (see `launched`)."""
    with launched(
        lambda port: serve_command(model_dir, port, *args), env=env, log_path=log_path, ready_timeout=ready_timeout
    ) as server:
        yield server
