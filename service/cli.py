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

from service.settings import DEFAULT_MODEL_DIR  # not service.artifact: that imports torch

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
    from service.artifact import load_artifact
    from service.scoring import score_file

    if args.output != "-" and Path(args.output).resolve() == Path(args.input).resolve():
        print("error: output would overwrite the input", file=sys.stderr)
        return 2
    artifact = load_artifact(args.model, args.device)
    summary = score_file(
        artifact,
        args.input,
        args.output,
        fmt=args.format,
        text_field=args.text_field,
        id_field=args.id_field,
        batch_size=args.batch_size,
        on_error=args.on_error,
        progress=not args.no_progress,
    )
    print(json.dumps({"output": args.output, **summary.as_dict()}), file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from service.serve import serve

    return serve(args)


def cmd_bench(args: argparse.Namespace) -> int:
    import signal

    from service.bench.run import DEFAULT_DATA, run_bench

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed bench still stops the servers it started

    res = run_bench(Path(args.model), Path(args.out), quick=args.quick, data_dir=Path(args.data or DEFAULT_DATA))
    print(json.dumps(res["ratios"], indent=1))
    print(f"wrote {Path(args.out) / 'benchmarks.md'}", file=sys.stderr)
    return 0


def cmd_loadtest(args: argparse.Namespace) -> int:
    from loadtests.runner import LoadTestError, run_loadtest

    try:
        return run_loadtest(
            model=Path(args.model),
            url=args.url,
            users=args.users,
            spawn_rate=args.spawn_rate,
            run_time=args.run_time,
            out_dir=Path(args.out),
            scenario=args.scenario,
        )
    except LoadTestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


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

    sc = sub.add_parser("score", help="score a file of texts (jsonl, csv, tsv, txt, parquet; .gz; - = stdin)")
    sc.add_argument("input", help="input file, or - for stdin")
    sc.add_argument("-o", "--output", required=True, help="output .jsonl or .csv, or - for stdout")
    sc.add_argument("--format", default=None, help="input format (default: by extension)")
    sc.add_argument("--text-field", default="text", help="column/key with the text (default: text)")
    sc.add_argument("--id-field", default="id", help="column/key with the row id (default: id)")
    sc.add_argument("--batch-size", type=int, default=256, help="texts per model batch (default: 256)")
    sc.add_argument(
        "--on-error",
        choices=("skip", "fail"),
        default="skip",
        help="bad rows: skip into OUTPUT.rejects.jsonl, or stop (default: skip)",
    )
    sc.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_model_arg(sc)

    sv = sub.add_parser("serve", help="serve the model over HTTP (BentoML); flags override SENTIMENT_* variables")
    from service.serve import add_serve_args

    add_serve_args(sv)

    be = sub.add_parser("bench", help="measure model, scorer and HTTP throughput; write docs/benchmarks.md")
    be.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model directory (default: models/default)")
    be.add_argument("--out", default="docs", help="output directory (default: docs)")
    be.add_argument("--data", default=None, help="directory of SemEval .tsv files to draw texts from")
    be.add_argument("--quick", action="store_true", help="fewer, shorter runs (~2 min instead of ~6)")

    lt = sub.add_parser("loadtest", help="headless locust run against 127.0.0.1 (bounded users and time)")
    lt.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model to serve (ignored with --url)")
    lt.add_argument("--url", default=None, help="test this running server instead of starting one")
    lt.add_argument("--users", type=int, default=32, help="peak simulated users (default: 32, at most 256)")
    lt.add_argument("--spawn-rate", type=float, default=16, help="users started per second (default: 16)")
    lt.add_argument("--run-time", type=int, default=60, help="seconds (default: 60, at most 600)")
    lt.add_argument("--scenario", choices=("mixed", "ramp", "spike"), default="mixed", help="load shape")
    lt.add_argument("--out", default="docs", help="directory for loadtest_* CSV, HTML and summary")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "train":
        return cmd_train(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "serve":  # before the imports below: the supervisor process must not import torch
        return cmd_serve(args)
    from service.artifact import ModelLoadError
    from service.readers import InputFormatError
    from service.scoring import ScoringError

    handlers = {
        "evaluate": cmd_evaluate,
        "score": cmd_score,
        "serve": cmd_serve,
        "bench": cmd_bench,
        "loadtest": cmd_loadtest,
    }
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
