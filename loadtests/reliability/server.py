"""A real `sentiment serve` on 127.0.0.1 and a free port (service/api/launcher.py), and its process tree."""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from service.api.launcher import Launched, serving

__all__ = ["Server", "http_status", "running"]


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """Status of a GET, or None when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class Server(Launched):
    """A launched server, seen as the tree of processes BentoML runs (a supervisor and its workers)."""

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


@contextmanager
def running(model_dir: Path | str, *args: str, **launch: Any) -> Iterator[Server]:
    """`sentiment serve` of `model_dir` with `args` (`launch`: the keywords of `serving`); always stopped."""
    with serving(model_dir, *args, **launch) as s:
        yield Server(s.url, s.host, s.port, s.proc, s.start_s)
