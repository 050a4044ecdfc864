"""`make docker-e2e`: the container images and docker-compose.yml, end to end on a real docker engine.

Steps (each timed; a summary lands in build/docker-e2e/summary.json):
  1. a docker engine: use the running one, or install docker.io/docker-compose/debootstrap and start dockerd
     (root on Debian; stopped again at the end when this script started it)
  2. the base image: $BASE_IMAGE when given, else docker/build-base-image.sh (debootstrap + docker import)
  3. `docker build --target cpu` of docker/Dockerfile (image size reported), plus checks of what is inside
  3b. the patched torch: the image's torch version, and scripts/torch_parity.py inside the image: 2,000 clean tweets
     scored unrounded by the image (requirements-serve.txt's torch) and by this host's training environment (torch
     2.3.1, which exported the artifact): labels equal, scores within 1e-5
  4. `compose up -d api` on a free 127.0.0.1 port, wait for the HEALTHCHECK to say healthy
  5. POST /predict and GET /model (skipped with a note when the service has no /model), the pages (/, /docs) and
     their files, and the same texts
     through a host `sentiment serve` of the same model: labels equal, scores within 1e-5; then the cross-path
     reference (service/core/reference.py: 2,000 clean real tweets) through the container's /predict against the
     host's in-process Predictor: same ids and labels, scores within 1e-5
  6. `compose --profile batch run --rm batch` on a small folder: the scored files agree with /predict
  7. `compose down -v` (always), the temporary folder removed

Env: BASE_IMAGE (skip the debootstrap base), PIP_INDEX_URL, TORCH_INDEX_URL, COMPOSE (compose command, default
`docker compose` when present else `docker-compose`), SENTIMENT_E2E_IMAGE (tag, default tweet-sentiment:cpu),
SENTIMENT_E2E_KEEP_UP=1 (leave the compose project running, for debugging).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from scripts.docker_engine import (
    OUT_DIR,
    E2EError,
    Timer,
    build_image,
    compose_cmd,
    ensure_engine,
    log,
    run,
    stop_engine,
    wait_healthy,
)
from scripts.torch_parity import image_command, parity
from service.api.launcher import free_port, serving
from service.core.paths import REPO
from service.core.reference import answers_from_rows, clean_tweets, compare, reference_answers

MODEL = REPO / "models" / "default"
TEXTS = [
    "I love this phone, best purchase ever :)",
    "Worst customer service I have ever had. Never again!!",
    "The meeting is moved to 3pm on Tuesday.",
    "@united my flight got cancelled again... furious #fail",
    "can't wait for the weekend 🎉",
    "meh",
]
SCORE_TOLERANCE = 1e-5
PAGES = [  # (path, what its answer holds): the playground, its script, the API docs page (service/api/pages.py)
    ("/", b'src="/static/playground.js"'),
    ("/static/playground.js", b'"/predict"'),
    ("/docs", b'src="/static/swagger/swagger-ui-bundle.js"'),
    ("/static/swagger/swagger-ui-bundle.js", b"SwaggerUIBundle"),
]


def http_json(url: str, body: Any | None = None, timeout: float = 60) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def compare_predictions(name: str, got: list[dict[str, Any]], want: list[dict[str, Any]]) -> float:
    """Labels equal and scores within SCORE_TOLERANCE; returns the largest score difference."""
    if len(got) != len(want):
        raise E2EError(f"{name}: {len(got)} predictions for {len(want)} texts")
    worst = 0.0
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if g["label"] != w["label"]:
            raise E2EError(f"{name}: text {i} ({TEXTS[i]!r}) labelled {g['label']} vs {w['label']}")
        for k, v in w["scores"].items():
            worst = max(worst, abs(g["scores"][k] - v))
    if worst > SCORE_TOLERANCE:
        raise E2EError(f"{name}: scores differ by up to {worst:.2e} (> {SCORE_TOLERANCE})")
    return worst


def check_predictions_shape(preds: Any) -> None:
    if not isinstance(preds, list) or len(preds) != len(TEXTS):
        raise E2EError(f"/predict answered {preds!r}, expected {len(TEXTS)} predictions")
    for p in preds:
        if p["label"] not in ("negative", "neutral", "positive") or abs(sum(p["scores"].values()) - 1) > 1e-4:
            raise E2EError(f"bad prediction {p!r}")


ENGINE_UNAVAILABLE = 3  # exit status when this host cannot run a docker engine at all (.ci/run reports it)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep-engine", action="store_true", help="leave a dockerd this run started running")
    args = ap.parse_args()
    if not (MODEL / "manifest.json").is_file():
        print(
            f"error: no model at {MODEL.relative_to(REPO)} (the image bakes it in): commit one, or make one with "
            "`.venv/bin/python -m training --dry-run --out models --name default`",
            file=sys.stderr,
        )
        return 2
    unreadable = [p for p in [MODEL, *MODEL.iterdir()] if not p.stat().st_mode & 0o004]
    if unreadable:  # the container's uid 10001 reads the mounted model as "other"
        print(
            f"error: {unreadable[0].relative_to(REPO)} is not world-readable, so the container (uid 10001) cannot "
            f"read the mounted model: chmod -R a+rX {MODEL.relative_to(REPO)}",
            file=sys.stderr,
        )
        return 2
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    t0 = time.monotonic()
    summary: dict[str, Any] = {"ok": False}
    engine_pid = None
    try:
        engine_pid = ensure_engine(timer)
    except (E2EError, RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(
            f"\ndocker-e2e: NO DOCKER ENGINE could be started on this host ({e}); nothing was tested", file=sys.stderr
        )
        return ENGINE_UNAVAILABLE
    try:
        summary.update(build_image(timer, os.environ.get("SENTIMENT_E2E_IMAGE", "tweet-sentiment:cpu")))
        with timer.phase("torch parity in the image"):
            summary["torch_parity"] = parity(MODEL, 2000, image_command(summary["image"]), SCORE_TOLERANCE)
        log(f"torch parity: {json.dumps(summary['torch_parity'])}")
        if not summary["torch_parity"]["ok"]:
            raise E2EError("the image's torch scores the artifact differently from the training torch")
        summary.update(compose_checks(timer, summary["image"]))
        summary["ok"] = True
    except (E2EError, RuntimeError, OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
        print(f"\ndocker-e2e FAILED: {type(e).__name__}: {e}", file=sys.stderr)
    finally:
        summary["seconds"] = {**timer.phases, "total": round(time.monotonic() - t0, 1)}
        (OUT_DIR / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if engine_pid and not args.keep_engine:
            stop_engine(engine_pid)
    log(f"summary ({OUT_DIR.relative_to(REPO)}/summary.json): {json.dumps(summary)}")
    if summary["ok"]:
        log("docker-e2e passed")
    return 0 if summary["ok"] else 1


def compose_checks(timer: Timer, image: str) -> dict[str, Any]:
    compose_base = compose_cmd()
    project = f"sentiment-e2e-{os.getpid()}"
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="sentiment-e2e-"))
    batch_in, batch_out = work / "in", work / "out"
    batch_in.mkdir()
    batch_out.mkdir()
    batch_out.chmod(0o1777)  # the batch container writes as its own uid
    os.environ.update(
        {
            "SENTIMENT_IMAGE": image,
            "SENTIMENT_BIND": "127.0.0.1",
            "SENTIMENT_PUBLISH_PORT": str(port),
            "SENTIMENT_MODEL_HOST_DIR": str(MODEL),
            "SENTIMENT_BATCH_IN": str(batch_in),
            "SENTIMENT_BATCH_OUT": str(batch_out),
            "SENTIMENT_CPUS": os.environ.get("SENTIMENT_CPUS", "2"),
        }
    )
    compose = [*compose_base, "-f", str(REPO / "docker-compose.yml"), "--project-directory", str(REPO), "-p", project]
    result: dict[str, Any] = {"compose": shlex.join(compose_base)}
    url = f"http://127.0.0.1:{port}"
    try:
        with timer.phase("compose up (until healthy)"):
            run([*compose, "up", "-d", "--no-build", "api"])
            wait_healthy(compose, "api")
        with timer.phase("api checks"):
            status, served = http_json(url + "/predict", {"texts": TEXTS})
            if status != 200:
                raise E2EError(f"/predict answered {status}: {served}")
            check_predictions_shape(served)
            status, model_info = http_json(url + "/model")
            manifest = json.loads((MODEL / "manifest.json").read_text())
            if status == 404:
                log("note: GET /model answered 404 (this service has no /model endpoint yet): check skipped")
                result["model_endpoint"] = "skipped (404)"
            elif status != 200 or manifest["version"] not in json.dumps(model_info):
                raise E2EError(f"/model answered {status}: {model_info!r} (expected version {manifest['version']})")
            else:
                result["model_endpoint"] = "ok"
            for page, marker in PAGES:  # the pages' static files travel in the image (service/api/static)
                with urllib.request.urlopen(url + page, timeout=60) as r:
                    if marker not in r.read():
                        raise E2EError(f"GET {page} answered without {marker!r}")
            result["pages"] = "ok"
        with timer.phase("parity with host `sentiment serve`"):
            with serving(MODEL, "--device", "cpu") as host:
                _, host_preds = http_json(host.url + "/predict", {"texts": TEXTS})
            result["max_score_diff_vs_host_serve"] = compare_predictions("container vs host serve", served, host_preds)
        with timer.phase("cross-path reference (2,000 tweets)"):
            tweets = clean_tweets(2000)
            want = reference_answers(MODEL, "fp32", tweets)
            rows: list[dict[str, Any]] = []
            for start in range(0, len(tweets), 64):
                chunk = tweets[start : start + 64]
                status, preds = http_json(url + "/predict", {"texts": [t.text for t in chunk]})
                if status != 200:
                    raise E2EError(f"/predict answered {status} on reference rows {start}-{start + len(chunk)}")
                rows += [{"id": t.id, **p} for t, p in zip(chunk, preds, strict=True)]
            try:
                result["reference"] = compare("container /predict vs host Predictor", answers_from_rows(rows), want)
            except AssertionError as e:
                raise E2EError(str(e)) from e
            log(f"container vs in-process reference: {result['reference']}")
        with timer.phase("batch profile"):
            (batch_in / "tweets.jsonl").write_text(
                "".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS)), encoding="utf-8"
            )
            (batch_in / "tweets2.csv").write_text(
                "id,text\n" + "".join(f'c{i},"{t}"\n' for i, t in enumerate(TEXTS)), encoding="utf-8"
            )
            (batch_in / "notes.md").write_text("not an input file\n")
            run([*compose, "--profile", "batch", "run", "--rm", "batch"])
            for name, prefix in (("tweets.scored.jsonl", "t"), ("tweets2.scored.jsonl", "c")):
                rows = [json.loads(line) for line in (batch_out / name).read_text().splitlines()]
                if [r["id"] for r in rows] != [f"{prefix}{i}" for i in range(len(TEXTS))]:
                    raise E2EError(f"batch output {name}: ids {[r['id'] for r in rows]}")
                compare_predictions(f"batch {name} vs /predict", rows, served)
            result["batch_files"] = 2
    except Exception:
        subprocess.run([*compose, "logs", "--tail", "80"], cwd=REPO)
        raise
    finally:
        if not os.environ.get("SENTIMENT_E2E_KEEP_UP"):
            with timer.phase("compose down"):
                subprocess.run([*compose, "--profile", "batch", "down", "-v", "--remove-orphans"], cwd=REPO)
        shutil.rmtree(work, ignore_errors=True)
    return result


if __name__ == "__main__":
    sys.exit(main())
