"""The serving torch against the training torch: the committed artifact (exported under torch 2.3.1, training's pin)
scored under both, on the same clean real tweets, unrounded.

    python -m scripts.torch_parity                          # 2,000 tweets, models/default, serving venv /tmp/t213
    python -m scripts.torch_parity --image tweet-sentiment:cpu   # ... inside the API image instead (docker)
    python -m scripts.torch_parity --n 500 --out build/torch-parity.json

This interpreter is the training environment (the project's .venv, torch 2.3.1). The serving torch is either the
API image (`--image`; scripts/docker_e2e.py runs this check) or a venv with requirements-serve.txt's torch, created
when missing with only what service.core needs (torch, numpy, pydantic). Each side scores the texts in its own
process (CPU, `Predictor.predict_proba`); the report is the largest absolute score difference and the label
agreement. Exit 1 unless the difference is within --atol and every label agrees.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from service.core.paths import REPO

SERVE_REQUIREMENTS = REPO / "requirements-serve.txt"
IMAGE_MODEL = "/app/models/default"  # where docker/Dockerfile bakes the model in

# JSON texts on stdin -> {"torch", "probs"} on stdout; run by `python -c` in the venv, the image or here
WORKER = """
import json, sys
import torch
from service.core.artifact import load_artifact
from service.core.predictor import Predictor
texts = json.load(sys.stdin)
probs = Predictor(load_artifact(sys.argv[1], "cpu")).predict_proba(texts)  # (N, C)
json.dump({"torch": torch.__version__, "probs": probs.tolist()}, sys.stdout)
"""


def serving_pins() -> list[str]:
    """torch and numpy as requirements-serve.txt pins them, plus pydantic (service.core's manifest needs it)."""
    lines = [ln.split("#")[0].strip() for ln in SERVE_REQUIREMENTS.read_text().splitlines()]
    return [ln for ln in lines if ln.startswith(("torch", "numpy", "pydantic")) and "settings" not in ln]


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *serving_pins()], check=True)
    return python


def score(cmd: list[str], texts: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, input=json.dumps(texts), cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"scoring with {cmd[0]} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def parity(model: Path, n: int, serving_cmd: list[str], atol: float = 1e-5) -> dict[str, Any]:
    """Score `n` clean tweets here (training torch) and with `serving_cmd` (WORKER appended to it); the figures."""
    import numpy as np

    from service.core.reference import clean_tweets

    texts = [t.text for t in clean_tweets(n)]
    train = score([sys.executable, "-c", WORKER, str(model)], texts)
    serve = score(serving_cmd, texts)
    a, b = np.asarray(train["probs"]), np.asarray(serve["probs"])  # (N, C) each
    report = {
        "n_texts": len(texts),
        "training_torch": train["torch"],
        "serving_torch": serve["torch"],
        "max_abs_diff": float(np.abs(a - b).max()),
        "label_agreement": float((a.argmax(1) == b.argmax(1)).mean()),
        "atol": atol,
    }
    report["ok"] = report["max_abs_diff"] <= atol and report["label_agreement"] == 1.0
    return report


def image_command(image: str) -> list[str]:
    return ["docker", "run", "-i", "--rm", "--network", "none", image, "python", "-c", WORKER, IMAGE_MODEL]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=REPO / "models" / "default", help="model directory (host side)")
    p.add_argument("--n", type=int, default=2000, help="clean real tweets to score (default: 2000)")
    p.add_argument("--venv", type=Path, default=Path("/tmp/t213"), help="serving-torch venv (created when missing)")
    p.add_argument("--image", default=None, help="score inside this API image (its baked-in model) instead")
    p.add_argument("--atol", type=float, default=1e-5, help="largest allowed absolute score difference")
    p.add_argument("--out", type=Path, default=None, help="also write the report as JSON here")
    args = p.parse_args(argv)
    venv_cmd = None if args.image else [str(ensure_venv(args.venv)), "-c", WORKER, str(args.model)]
    cmd = image_command(args.image) if args.image else venv_cmd
    report = {"model": str(args.model), "serving": args.image or str(args.venv)}
    report.update(parity(args.model, args.n, cmd, args.atol))
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
