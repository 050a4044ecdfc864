"""Operations against real servers: API key, --no-batching, configurable limits, 429 on overload, SIGTERM drain,
startup errors, cold-start measurement."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from service.api.launcher import free_port, wait_ready
from service.client import APIError, SentimentClient
from tests.conftest import REPO, running_server

KEY = "s3cret-test-key"


@pytest.fixture(scope="module")
def secured(tiny_model: Path):
    """Auth on, batching off, small limits, all from SENTIMENT_* variables and flags."""
    env = {"SENTIMENT_API_KEY": KEY, "SENTIMENT_MAX_TEXT_CHARS": "50"}
    with running_server(tiny_model, "--no-batching", "--max-texts", "4", "--max-body-bytes", "2048", env=env) as url:
        yield url


def test_api_key_required_on_apis_but_not_health(secured: str):
    for path, method in (("/predict", "POST"), ("/explain", "POST"), ("/model", "GET")):
        body = {"texts": ["hi"]} if path == "/predict" else {"text": "hi"}
        kwargs = {"json": body} if method == "POST" else {}
        r = httpx.request(method, secured + path, **kwargs)
        assert r.status_code == 401 and "API key" in r.json()["error"], path
        r = httpx.request(method, secured + path, headers={"Authorization": "Bearer wrong"}, **kwargs)
        assert r.status_code == 401, path
        r = httpx.request(method, secured + path, headers={"Authorization": f"Bearer {KEY}"}, **kwargs)
        assert r.status_code == 200, path
    assert httpx.post(secured + "/predict", json={"texts": ["hi"]}, headers={"X-API-Key": KEY}).status_code == 200
    for open_path in ("/livez", "/readyz", "/metrics", "/docs.json", "/", "/docs", "/static/playground.js"):
        assert httpx.get(secured + open_path).status_code == 200, open_path


def test_auth_is_checked_before_the_body(secured: str):
    r = httpx.post(secured + "/predict", content=b"not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 401


def test_configured_limits_are_enforced_and_named(secured: str):
    with SentimentClient(secured, api_key=KEY) as c:
        with pytest.raises(APIError, match="texts: 5 texts, the limit is 4 per request"):
            c.predict(["a"] * 5)
        with pytest.raises(APIError, match=r"texts\[1\]: text has 51 characters, the limit is 50"):
            c.predict(["ok", "x" * 51])
        r = httpx.post(
            secured + "/predict",
            content=json.dumps({"texts": ["x" * 40] * 60}).encode(),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        assert r.status_code == 413 and "the limit is 2048 bytes" in r.json()["error"]


def test_no_batching_serves_the_same_model(secured: str, tiny_model: Path):
    texts = ["I love it", "so angry right now", "meeting at 3pm"]
    with SentimentClient(secured, api_key=KEY) as c:
        assert c.model()["batching"]["enabled"] is False
        assert c.model()["limits"] == {"max_texts": 4, "max_text_chars": 50, "max_body_bytes": 2048}
        served = c.predict(texts)
    from service.core.artifact import load_artifact
    from service.core.predictor import Predictor

    offline = Predictor(load_artifact(tiny_model, "cpu")).predict(texts)
    assert [p.label for p in served] == [p.label for p in offline]
    for s, o in zip(served, offline, strict=True):
        assert all(abs(getattr(s.scores, k) - v) <= 1e-5 for k, v in o.scores.model_dump().items())


def _heavy_body(seed: int, n: int = 256) -> bytes:
    """Texts of unique random words: tokenising and hashing them takes a while (no cache hits)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def word() -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randint(4, 12)))

    return json.dumps({"texts": [" ".join(word() for _ in range(150))[:1900] for _ in range(n)]}).encode()


def _in_flight(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    m = re.search(r"^sentiment_requests_in_flight (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


@pytest.mark.slow
def test_overload_gets_429_and_sigterm_drains_in_flight_requests(tiny_model: Path, tmp_path: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "service.cli", "serve", "--model", str(tiny_model), "--port", str(port)]
    # generous latency budget and timeout: only the concurrency limit may refuse requests here; one text per
    # forward call (--cpu-chunk 1) keeps each 256-text request in flight long enough to be caught by SIGTERM
    cmd += ["--max-concurrency", "3", "--threads", "1", "--max-latency-ms", "300000", "--timeout", "300"]
    cmd += ["--cpu-chunk", "1"]
    cmd += ["--workers", "1"]  # one worker: the whole limit of 3 is its own (with N workers each gets ceil(3 / N))
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(url, proc)
        bodies = [_heavy_body(i) for i in range(8)]

        def post(body: bytes) -> tuple[int, str]:
            r = httpx.post(
                url + "/predict",
                content=body,
                headers={"Content-Type": "application/json", "Connection": "close"},
                timeout=300,
            )
            return r.status_code, r.text

        # 1. more concurrent requests than --max-concurrency: the excess gets 429 at once, the rest 200
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(post, bodies))
        statuses = [s for s, _ in results]
        assert set(statuses) == {200, 429}, statuses
        assert all("limit 3 per worker" in text for s, text in results if s == 429), results
        for s, text in results:
            if s == 200:
                assert len(json.loads(text)) == 256

        # 2. SIGTERM while requests are in flight: they all finish with 200, then the server exits cleanly
        with ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(post, b) for b in bodies[:3]]
            deadline = time.monotonic() + 30
            while _in_flight(url) < 3 and time.monotonic() < deadline and not all(f.done() for f in futures):
                time.sleep(0.02)
            assert not all(f.done() for f in futures), "requests finished before SIGTERM: make them heavier"
            os.kill(proc.pid, signal.SIGTERM)
            drained = [f.result() for f in futures]
        assert [s for s, _ in drained] == [200, 200, 200], drained
        assert all(len(json.loads(text)) == 256 for _, text in drained)
        assert proc.wait(timeout=60) == 0
        with pytest.raises(httpx.TransportError):
            httpx.get(url + "/livez", timeout=2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_bad_model_fails_with_a_clear_error(tiny_model: Path, tmp_path: Path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model, bad)
    with open(bad / "vocab.json", "a") as f:
        f.write(" ")
    cmd = [sys.executable, "-m", "service.cli", "serve", "--model", str(bad), "--port", str(free_port())]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("error: sha256 mismatch for")

    out = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--model", str(tmp_path / "nope")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "model directory not found" in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--model", str(tiny_model), "--max-batch-size", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "SENTIMENT_MAX_BATCH_SIZE" in out.stderr


def test_via_api_keeps_within_the_server_limits(secured: str, tmp_path: Path):
    """`sentiment score --via-api` reads the limits from GET /model: 4 texts per request, texts cut to 50."""
    from service.batch.engines.api import score_file_via_api

    src = tmp_path / "in.txt"
    src.write_text("\n".join(["x" * 80, "I love it", *["fine"] * 9]) + "\n")
    out = tmp_path / "o.jsonl"
    summary = score_file_via_api(secured, str(src), str(out), batch_size=64, api_key=KEY, progress=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary.rows == len(rows) == 11 and summary.rejected == 0
