"""The docker side of `make docker-e2e`: run commands (logged, failing loudly), find the compose client, start a
docker engine when none runs (and stop it again), build the base and API images and check what is inside, wait
for a compose service's HEALTHCHECK. scripts/docker_e2e.py drives them."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from service.core.paths import REPO

OUT_DIR = REPO / "build" / "docker-e2e"
DEFAULT_BASE_TAG = "sentiment-base:bookworm"


class E2EError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[docker-e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    capture: bool = False,
    timeout: float = 3600,
    quiet: bool = False,
) -> str:
    if not quiet:
        log("$ " + shlex.join(cmd))
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = (proc.stdout or "")[-4000:] if capture else ""
        raise E2EError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n{tail}")
    return proc.stdout or ""


def compose_cmd() -> list[str]:
    if os.environ.get("COMPOSE"):
        return shlex.split(os.environ["COMPOSE"])
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise E2EError("no compose client: install docker-compose (v1) or the docker compose plugin (v2)")


class Timer:
    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        log(f"== {name}")
        try:
            yield
        finally:
            self.phases[name] = round(time.monotonic() - t0, 1)
            log(f"== {name}: {self.phases[name]:.1f} s")


def ensure_engine(timer: Timer) -> int | None:
    """Returns the pid of a dockerd this script started (to stop it at the end), else None."""
    with timer.phase("engine"):
        pidfile = OUT_DIR / "dockerd.pid"
        out = run(["bash", "docker/start-engine.sh", str(pidfile), str(OUT_DIR / "dockerd.log")], capture=True)
        if "started" in out.split():
            return int(pidfile.read_text())
    return None


def stop_engine(pid: int) -> None:
    log(f"stopping the dockerd this run started (pid {pid})")
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    for _ in range(60):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.kill(pid, 9)


def build_image(timer: Timer, tag: str) -> dict[str, Any]:
    base = os.environ.get("BASE_IMAGE", "")
    if not base:
        with timer.phase("base image"):
            run(["bash", "docker/build-base-image.sh", DEFAULT_BASE_TAG])
        base = DEFAULT_BASE_TAG
    env = {}
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode != 0:
        env["DOCKER_BUILDKIT"] = "0"  # no buildx plugin: the classic builder (enough for this Dockerfile)
    args = ["--build-arg", f"BASE_IMAGE={base}"]
    for key in ("PIP_INDEX_URL", "TORCH_INDEX_URL"):
        if os.environ.get(key):
            args += ["--build-arg", f"{key}={os.environ[key]}"]
    with timer.phase("image build"):
        run(["docker", "build", "-f", "docker/Dockerfile", "--target", "cpu", "-t", tag, *args, "."], env=env)
    size = int(run(["docker", "image", "inspect", "-f", "{{.Size}}", tag], capture=True).strip())
    log(f"image {tag}: {size / 1e9:.2f} GB")
    # What is (not) inside: non-root user, no training code, no measurement tooling or tests, no torchtext, no pip,
    # the model baked in, and only the serving parts of service/ (core, api, batch, the CLI and the API's client).
    probe = (
        "id -u; test ! -e /app/training && echo no-training; "
        "test ! -e /app/loadtests && test ! -e /app/tests && echo no-loadtests; "
        "ls /app/service | grep -v -e __ -e '^cli.py$' -e '^client.py$' -e '^core$' -e '^api$' -e '^batch$' "
        "| tr '\\n' ' ' | grep -q . || echo serving-only; "
        "python -c 'import torchtext' 2>/dev/null || echo no-torchtext; "
        "python -m pip --version >/dev/null 2>&1 || echo no-pip; "
        "test -f /app/models/default/model.pt && echo model-baked"
    )
    inside = run(["docker", "run", "--rm", "--network", "none", tag, "sh", "-c", probe], capture=True).split()
    want = ["10001", "no-training", "no-loadtests", "serving-only", "no-torchtext", "no-pip", "model-baked"]
    if inside[-len(want) :] != want:
        raise E2EError(f"image contents: expected {want}, got {inside}")
    return {"base_image": base, "image": tag, "image_bytes": size}


def wait_healthy(compose: list[str], service: str, timeout: float = 600) -> str:
    cid = run([*compose, "ps", "-q", service], capture=True).strip()
    if not cid:
        raise E2EError(f"no container for {service}")
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        fmt = "{{.State.Status}} {{.State.Health.Status}} {{.RestartCount}}"
        status = run(["docker", "inspect", "-f", fmt, cid], capture=True, quiet=True)
        state, health, restarts = status.split()
        if health == "healthy":
            return cid
        if state in ("exited", "dead", "restarting") or health == "unhealthy" or restarts != "0":
            break
        time.sleep(2)
    raise E2EError(f"{service} not healthy (state/health: {status.strip()})")
