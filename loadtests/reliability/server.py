"""Start a real `sentiment serve` on 127.0.0.1 and a free port, and look at its process tree."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from loadtests.servers import free_port, stop_group, wait_ready

REPO = Path(__file__).resolve().parent.parent.parent


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """Status of a GET, or None when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


@dataclass
class Server:
    url: str
    host: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tree(self) -> list[psutil.Process]:
        """The server process and all its descendants (BentoML runs workers as children)."""
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def workers(self) -> list[psutil.Process]:
        """Processes that serve the model: descendants whose command line names a service worker."""
        out = []
        for p in self.tree()[1:]:
            try:
                cmd = " ".join(p.cmdline())
            except psutil.Error:
                continue
            if "_bentoml_impl.worker" in cmd or "worker.service" in cmd or "--worker-id" in cmd:
                out.append(p)
        return out

    def rss_bytes(self) -> int:
        total = 0
        for p in self.tree():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total


def serve_command(model_dir: Path | str, port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "service.cli", "serve", "--model", str(model_dir), "--port", str(port), *args]


def stop(proc: subprocess.Popen[bytes], grace: float = 20.0) -> int:
    """SIGTERM the server's process group, then SIGKILL after `grace` seconds; returns the exit code."""
    code = stop_group(proc, grace)
    _kill_group_leftovers(proc.pid)
    return code


def _kill_group_leftovers(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@contextmanager
def running(
    model_dir: Path | str,
    *args: str,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    ready_timeout: float = 120.0,
) -> Iterator[Server]:
    """`sentiment serve` on 127.0.0.1 and a free port, in its own process group; always stopped afterwards."""
    port = free_port()
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        serve_command(model_dir, port, *args),
        cwd=REPO,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}", "127.0.0.1", port, proc)
    try:
        wait_ready(server.url, proc, ready_timeout)
        yield server
    finally:
        stop(proc)
        if log_path:
            log.close()  # type: ignore[union-attr]
