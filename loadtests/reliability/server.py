"""Start a real `sentiment serve` on 127.0.0.1 and a free port, and look at its process tree."""

from __future__ import annotations

import contextlib
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from loadtests.servers import serve_command, serving, stop_group

__all__ = ["Server", "http_status", "running", "serve_command", "stop"]

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


def stop(proc: subprocess.Popen[bytes], grace: float = 20.0) -> int:
    """SIGTERM the server's process group, then SIGKILL after `grace` seconds; returns the exit code."""
    return stop_group(proc, grace)


@contextmanager
def running(
    model_dir: Path | str,
    *args: str,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    ready_timeout: float = 120.0,
) -> Iterator[Server]:
    """`sentiment serve` on 127.0.0.1 and a free port, in its own process group; always stopped afterwards."""
    with serving(model_dir, *args, env=env, log_path=log_path, ready_timeout=ready_timeout) as s:
        yield Server(s.url, s.host, s.port, s.proc)
