"""Child server processes: wait until ``/readyz`` answers 200, stop a process group (SIGTERM, then SIGKILL).

Shared by `sentiment bench`, the cold-start script, the reliability harness and the tests, which all start
`sentiment serve` (or a reference server) in its own session with ``start_new_session=True``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    """SIGTERM the process group led by `proc`, SIGKILL it after `grace` seconds; returns the exit code."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
    return proc.returncode if proc.returncode is not None else -1
