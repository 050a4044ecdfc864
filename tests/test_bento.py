"""`make bento`'s Bento, end to end: built into a temporary BENTOML_HOME, served by `bentoml serve` from outside the
repo (no PYTHONPATH, so the code and the model come from the Bento), answers exactly what `sentiment serve` answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.api.launcher import free_port, stop_group, wait_ready
from service.core.reference import clean_tweets
from tests.conftest import DEFAULT_MODEL, REPO, running_server

BENTOML = [sys.executable, "-m", "bentoml"]


@pytest.fixture(scope="module")
def bento(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """(env with the temporary BENTOML_HOME, the built Bento's folder)."""
    home = tmp_path_factory.mktemp("bentoml_home")
    env = {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "True"}
    out = subprocess.run(  # what `make bento` runs (make itself would first re-run `make setup` when stale)
        [*BENTOML, "build", "--output", "tag", "."], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    out = out.stdout
    tag = out.strip().splitlines()[-1].removeprefix("__tag__:")
    name, version = tag.split(":")
    return env, home / "bentos" / name / version


def post(url: str, texts: list[str]) -> list[dict]:
    req = urllib.request.Request(
        url + "/predict", json.dumps({"texts": texts}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


@contextmanager
def bento_server(env: dict[str, str], tag: str, cwd: Path, log: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in env.items() if k != "PYTHONPATH" and not k.startswith("SENTIMENT_")}
    cmd = [*BENTOML, "serve", tag, "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc, timeout=120)
            yield url
        finally:
            stop_group(proc)


@pytest.mark.slow  # starts a server or runs for seconds (marker policy: tests/conftest.py)
def test_bento_holds_only_the_serving_code_and_the_model(bento: tuple[dict[str, str], Path]) -> None:
    _, path = bento
    src = path / "src"
    files = {p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()}
    top = {f.split("/")[0] for f in files}
    assert top == {"service", "models", "bentofile.yaml"}, top
    assert {f.rsplit("/", 1)[0] for f in files if f.startswith("service/")} == {
        "service",
        "service/api",
        "service/api/static",
        "service/core",
    }
    assert "service/api/static/playground.html" in files and "service/api/static/docs.js" in files
    manifest = json.loads((DEFAULT_MODEL / "manifest.json").read_text())
    assert {f for f in files if f.startswith("models/")} == {
        f"models/default/{name}" for name in ["manifest.json", *manifest["files"]]
    }
    info = (path / "bento.yaml").read_text()
    assert f"model_version: {manifest['version']}" in info  # the label of bentofile.yaml follows the model
    requirements = (path / "env" / "python" / "requirements.txt").read_text()
    assert "torch==2.13.0" in requirements.splitlines()


@pytest.mark.slow  # starts a server or runs for seconds (marker policy: tests/conftest.py)
def test_bento_serve_answers_as_sentiment_serve(bento: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, path = bento
    texts = [t.text for t in clean_tweets(64)]
    log = tmp_path / "bento.log"
    with bento_server(env, f"{path.parent.name}:{path.name}", tmp_path, log) as url:
        from_bento = post(url, texts)
        with urllib.request.urlopen(url + "/") as r:  # the playground's files travel in the Bento too
            assert b'src="/static/playground.js"' in r.read()
        with urllib.request.urlopen(url + "/static/playground.js") as r:
            assert r.status == 200
    loaded = [json.loads(line) for line in log.read_text().splitlines() if '"model_loaded"' in line]
    assert loaded and loaded[0]["model_dir"] == str(path / "src" / "models" / "default")
    with running_server(DEFAULT_MODEL) as url:
        from_serve = post(url, texts)
    assert len(from_bento) == 64
    assert from_bento == from_serve
