"""Start and stop the servers under test (each in its own process group, always stopped), and time their start."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.api.launcher import Launched, launched, serve_command


@contextmanager
def started(
    cmd: list[str], port: int, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[Launched]:
    """`cmd`, a server listening on `port`, once ``/readyz`` answers (up to 180 s); always stopped afterwards."""
    with launched(lambda _: cmd, port=port, env=env, log_path=log, ready_timeout=180) as s:
        yield s


def echo_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "loadtests.bench.echo_app", "--port", str(port)]


def serve_cmd(model: Path, port: int, *flags: str) -> list[str]:
    return serve_command(model, port, *flags)


def noop(port: int, target: str = "NoopSentiment") -> tuple[list[str], dict[str, str]]:
    """A no-op service (`NoopSentiment` or `NoopFastSentiment`), with the same options as the real one."""
    cmd = [sys.executable, "-m", "bentoml", "serve", f"loadtests.bench.noop_service:{target}"]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    return cmd, {}


def peer_cmd(model: Path, port: int) -> list[str]:
    """The hand-written Starlette peer (loadtests/bench/peer_app.py) on the same model."""
    return [sys.executable, "-m", "loadtests.bench.peer_app", "--model", str(model), "--port", str(port)]
