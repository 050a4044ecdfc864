"""The `sentiment` command: train, evaluate, score, serve.

`train` runs the training package in its own process (``python -m training``), so the serving path never
imports training code or torchtext.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from service.artifact import DEFAULT_MODEL_DIR

REPO = Path(__file__).resolve().parent.parent


def _add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=str(DEFAULT_MODEL_DIR),
        help=f"model directory (default: {DEFAULT_MODEL_DIR.relative_to(REPO)})",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default: auto)")


def cmd_train(argv: list[str]) -> int:
    import importlib.util

    if importlib.util.find_spec("training") is None:  # checked, not imported: training runs in a subprocess
        print(
            "error: the training package is not installed here (serving-only install); "
            "run `make setup` in a full checkout",
            file=sys.stderr,
        )
        return 2
    os.execv(sys.executable, [sys.executable, "-m", "training", *argv])
    return 0  # not reached


def cmd_evaluate(args: argparse.Namespace) -> int:
    from service.evaluate import evaluate_file
    from service.metrics import format_report

    result = evaluate_file(args.data, args.model, args.format, args.batch_size, args.device)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"model {result['model_version']} on {args.data}")
        print(format_report(result))
        if result["skipped_rows"]:
            print(f"\n{result['skipped_rows']} rows skipped, e.g. {result['skipped_examples'][0]}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from service.score_command import run_score

    return run_score(args)


def cmd_serve(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    for key in ("model", "host", "port", "workers", "device", "max_batch_size", "max_latency_ms", "api_key"):
        value = getattr(args, key)
        if value is not None:
            env[f"SENTIMENT_{'MODEL_DIR' if key == 'model' else key.upper()}"] = str(value)
    if args.no_batching:
        env["SENTIMENT_BATCHING"] = "false"
    from pydantic import ValidationError

    from service.settings import ServiceSettings

    try:  # validate now, with a clear message, rather than in every worker
        os.environ.update(env)
        s = ServiceSettings()
    except ValidationError as e:
        print(f"error: invalid setting: {e}", file=sys.stderr)
        return 2
    from service.artifact import ModelLoadError, load_artifact

    try:
        load_artifact(s.model_dir, "cpu")
    except ModelLoadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cmd = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "service.app:TweetSentiment",
        "--host",
        s.host,
        "--port",
        str(s.port),
    ]
    if not s.access_log:
        env.setdefault("BENTOML_CONFIG_OPTIONS", "api_server.logging.access.enabled=false")
    os.chdir(REPO)
    os.execve(sys.executable, cmd, env)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sentiment", description="Tweet sentiment: train, evaluate, score, serve.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("train", help="train and export a model (see `sentiment train --help`)", add_help=False)

    ev = sub.add_parser("evaluate", help="metrics of a model on a labelled SemEval-format file")
    ev.add_argument("--data", required=True, help="labelled file: SemEval TSV (id, label, text), CSV or JSONL")
    ev.add_argument("--format", default=None, help="semeval | tsv | csv | jsonl (default: by extension)")
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    ev.add_argument("--batch-size", type=int, default=256, help="texts per model batch (default: 256)")
    _add_model_arg(ev)

    from service.score_command import add_score_parser

    add_score_parser(sub, _add_model_arg)

    sv = sub.add_parser("serve", help="serve the model over HTTP (BentoML)")
    sv.add_argument("--model", default=None, help="model directory (default: models/default)")
    sv.add_argument("--host", default=None, help="bind address (default: 127.0.0.1)")
    sv.add_argument("--port", type=int, default=None, help="port (default: 3000)")
    sv.add_argument("--workers", type=int, default=None, help="worker processes (default: 1)")
    sv.add_argument("--device", default=None, help="auto | cpu | cuda (default: auto)")
    sv.add_argument("--max-batch-size", type=int, default=None, help="texts per model batch (default: 256)")
    sv.add_argument("--max-latency-ms", type=int, default=None, help="batcher latency budget (default: 2000)")
    sv.add_argument("--api-key", default=None, help="require this bearer token (default: none)")
    sv.add_argument("--no-batching", action="store_true", help="serve without adaptive batching")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "train":
        return cmd_train(argv[1:])
    args = build_parser().parse_args(argv)
    from service.artifact import ModelLoadError
    from service.readers import InputFormatError
    from service.scoring import ScoringError

    handlers = {"evaluate": cmd_evaluate, "score": cmd_score, "serve": cmd_serve}
    try:
        return handlers[args.command](args)
    except (ModelLoadError, InputFormatError, ScoringError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
