"""The serving torch against the training torch: the committed artifact (exported under torch 2.3.1, training's pin)
scored under both, on the same clean real tweets.

    python scripts/torch_parity.py                    # 2,000 tweets, models/default, serving venv /tmp/t213
    python scripts/torch_parity.py --n 500 --out build/torch-parity.json

This interpreter is the training environment (the project's .venv, torch 2.3.1). The serving torch
(requirements-serve.txt's pin) lives in a separate venv, created when missing with only what service.core needs
(torch, numpy, pydantic). Each interpreter scores the texts in its own process (`--worker`, CPU, unrounded
probabilities); the report is the largest absolute score difference and the label agreement. Exit 1 unless the
difference is within --atol and every label agrees.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVE_REQUIREMENTS = REPO / "requirements-serve.txt"


def serving_pins() -> list[str]:
    """torch and numpy as requirements-serve.txt pins them, plus pydantic (service.core's manifest needs it)."""
    lines = [ln.split("#")[0].strip() for ln in SERVE_REQUIREMENTS.read_text().splitlines()]
    pins = [ln for ln in lines if ln.startswith(("torch", "numpy", "pydantic"))]
    return [p for p in pins if not p.startswith("pydantic-settings")]


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *serving_pins()], check=True)
    return python


def worker(model: Path, texts_path: Path, out: Path) -> None:
    import numpy as np
    import torch

    from service.core.artifact import load_artifact
    from service.core.predictor import Predictor

    texts = json.loads(texts_path.read_text(encoding="utf-8"))
    predictor = Predictor(load_artifact(model, "cpu"))
    probs = predictor.predict_proba(texts)  # (N, C)
    np.save(out, probs)
    print(json.dumps({"torch": torch.__version__, "n": len(texts)}))


def score_with(python: Path, model: Path, texts_path: Path, out: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [str(python), __file__, "--worker", "--model", str(model), "--texts", str(texts_path), "--probs", str(out)]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"error: scoring under {python} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["torch"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=REPO / "models" / "default", help="model directory to score with")
    p.add_argument("--n", type=int, default=2000, help="clean real tweets to score (default: 2000)")
    p.add_argument("--venv", type=Path, default=Path("/tmp/t213"), help="serving-torch venv (created when missing)")
    p.add_argument("--atol", type=float, default=1e-5, help="largest allowed absolute score difference")
    p.add_argument("--out", type=Path, default=None, help="also write the report as JSON here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--probs", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.model, args.texts, args.probs)
        return 0

    import numpy as np

    sys.path.insert(0, str(REPO))
    from loadtests.reference import clean_tweets

    texts = [t.text for t in clean_tweets(args.n)]
    with tempfile.TemporaryDirectory(prefix="torch-parity-") as tmp:
        texts_path = Path(tmp) / "texts.json"
        texts_path.write_text(json.dumps(texts), encoding="utf-8")
        train_torch = score_with(Path(sys.executable), args.model, texts_path, Path(tmp) / "train.npy")
        serve_torch = score_with(ensure_venv(args.venv), args.model, texts_path, Path(tmp) / "serve.npy")
        a, b = np.load(Path(tmp) / "train.npy"), np.load(Path(tmp) / "serve.npy")  # (N, C) each
    report = {
        "model": str(
            args.model.resolve().relative_to(REPO) if args.model.resolve().is_relative_to(REPO) else args.model
        ),
        "n_texts": len(texts),
        "training_torch": train_torch,
        "serving_torch": serve_torch,
        "max_abs_diff": float(np.abs(a - b).max()),
        "label_agreement": float((a.argmax(1) == b.argmax(1)).mean()),
        "atol": args.atol,
    }
    report["ok"] = report["max_abs_diff"] <= args.atol and report["label_agreement"] == 1.0
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
