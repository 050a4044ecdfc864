"""Container files: docker-compose.yml and the Dockerfile's promises, the helper scripts the image runs (the batch
folder scorer and the HEALTHCHECK) on this host, and the full `make docker-e2e` on a real engine (opt-in here:
CI runs it as its own step, see .ci/run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from service.api.launcher import free_port
from service.core.paths import REPO

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "docker" / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_api_service(compose):
    api = compose["services"]["api"]
    assert "profiles" not in api  # `compose up` starts it
    assert api["build"]["dockerfile"] == "docker/Dockerfile" and api["build"]["target"] == "cpu"
    assert set(api["build"]["args"]) == {"BASE_IMAGE", "PIP_INDEX_URL", "TORCH_INDEX_URL"}
    assert api["ports"] == ["${SENTIMENT_BIND:-127.0.0.1}:${SENTIMENT_PUBLISH_PORT:-3000}:3000"]
    assert api["healthcheck"]["test"] == ["CMD", "python", "/app/docker/healthcheck.py"]
    assert api["restart"] == "unless-stopped"
    assert api["read_only"] is True and api["tmpfs"] == ["/tmp:size=512m,mode=1777"]
    assert {"cpus", "mem_limit", "pids_limit"} <= api.keys()
    assert api["environment"]["SENTIMENT_MODEL_DIR"] == "/models/current"
    assert "${SENTIMENT_MODEL_HOST_DIR:-./models/default}:/models/current:ro" in api["volumes"]


def test_compose_profiles(compose):
    services = compose["services"]
    assert {name: s.get("profiles") for name, s in services.items()} == {
        "api": None,
        "api-gpu": ["gpu"],
        "loadtest": ["loadtest"],
        "batch": ["batch"],
    }
    gpu = services["api-gpu"]
    assert gpu["build"]["target"] == "cuda"
    assert gpu["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    ]
    load = services["loadtest"]
    assert load["command"] == [
        "locust", "-f", "loadtests/locustfile.py", "--headless", "-u", "8", "-r", "4", "-t", "20s",
        "--host", "http://api:3000",
    ]  # fmt: skip
    assert load["depends_on"] == {"api": {"condition": "service_healthy"}}
    batch = services["batch"]
    assert batch["command"][0] == "/app/docker/score-folder.sh" and batch["network_mode"] == "none"
    assert any(v.endswith(":/data/in:ro") for v in batch["volumes"])


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (v1) not installed")
def test_compose_file_valid_for_compose_v1():
    out = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "--profile", "gpu", "--profile", "batch", "--profile", "loadtest",
         "config", "--services"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.split()) == ["api", "api-gpu", "batch", "loadtest"]


def test_dockerfile_serving_only():
    text = DOCKERFILE.read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    copies = [line for line in instructions if line.lstrip().startswith("COPY")]
    assert not any("training" in c or "tests" in c for c in copies)
    assert "torchtext" not in "\n".join(instructions).replace("import torchtext", "")
    assert "USER 10001:10001" in instructions
    assert any(line.startswith("HEALTHCHECK") and "healthcheck.py" in line for line in instructions)
    assert "FROM base AS cpu" in instructions and "FROM cpu AS cuda" in instructions
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") :][:1] == ["*"] and "!training/" not in ignored and "!tests/" not in ignored


@pytest.fixture()
def sentiment_shim(tmp_path: Path) -> dict[str, str]:
    """PATH with a `sentiment` that runs this checkout's CLI, as docker/sentiment does in the image."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "sentiment"
    shim.write_text(f'#!/bin/sh\ncd {REPO} && exec {sys.executable} -m service.cli "$@"\n')
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(REPO)}


def test_score_folder_scores_each_input_file_once(tmp_path, tiny_model, sentiment_shim):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "a.jsonl").write_text('{"id": "a1", "text": "love it"}\n{"id": "a2", "text": "hate it"}\n')
    (src / "b.csv").write_text("id,text\nb1,great day\n")
    (src / "readme.md").write_text("not input\n")
    env = {**sentiment_shim, "SENTIMENT_MODEL_DIR": str(tiny_model), "SENTIMENT_DEVICE": "cpu"}
    script = str(REPO / "docker" / "score-folder.sh")
    first = subprocess.run([script, str(src), str(dst)], env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "skip readme.md (not an input format)" in first.stdout and "scored 2 of 2 files" in first.stdout
    rows = [json.loads(line) for line in (dst / "a.scored.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2"] and all(r["label"] for r in rows)
    assert json.loads((dst / "b.scored.jsonl").read_text())["id"] == "b1"

    again = subprocess.run([script, str(src), str(dst)], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "skip a.jsonl (already scored" in again.stdout


def test_score_folder_errors(tmp_path, tiny_model, sentiment_shim):
    script = str(REPO / "docker" / "score-folder.sh")
    env = {**sentiment_shim, "SENTIMENT_MODEL_DIR": str(tiny_model)}
    missing = subprocess.run([script, str(tmp_path / "nope"), str(tmp_path / "o")], env=env, capture_output=True,
                             text=True)  # fmt: skip
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = subprocess.run([script, str(tmp_path / "empty"), str(tmp_path / "o")], env=env, capture_output=True,
                           text=True)  # fmt: skip
    assert empty.returncode == 2 and "no input files" in empty.stderr
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jsonl").write_text("{not json\n")
    bad = subprocess.run(
        [script, str(tmp_path / "bad"), str(tmp_path / "o")],
        env={**env, "SENTIMENT_BATCH_ARGS": "--on-error fail"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 1 and "scoring x.jsonl failed" in bad.stderr


def test_healthcheck_script(tiny_server):
    script = [sys.executable, str(REPO / "docker" / "healthcheck.py")]
    port = tiny_server.rsplit(":", 1)[1]
    ok = subprocess.run(script, env={**os.environ, "SENTIMENT_PORT": port}, capture_output=True, timeout=30)
    assert ok.returncode == 0
    closed = {**os.environ, "SENTIMENT_PORT": str(free_port())}
    down = subprocess.run(script, env=closed, capture_output=True, timeout=30)
    assert down.returncode == 1 and b"not ready" in down.stderr


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("SENTIMENT_DOCKER_E2E") != "1",
    reason="builds images (minutes): CI runs `make docker-e2e` as its own step; SENTIMENT_DOCKER_E2E=1 runs it here",
)
def test_docker_e2e():
    proc = subprocess.run([sys.executable, "-m", "scripts.docker_e2e"], cwd=REPO, timeout=3600)
    summary = json.loads((REPO / "build" / "docker-e2e" / "summary.json").read_text())
    assert proc.returncode == 0 and summary["ok"], summary
    assert summary["max_score_diff_vs_host_serve"] <= 1e-5 and summary["batch_files"] == 2
