"""The `sentiment` command, the product's verbs: train, quantize, evaluate, score, serve.

`train` and `quantize` are handed to the training package in its own process (``python -m training``,
``python -m training.quantize``): the serving path never imports training code or torchtext, and a serving-only
install (the image) has neither. The measurement tooling (bench, loadtest, reliability) is not a product verb: it
has its own command, `sentiment-lab` (``python -m loadtests``, loadtests/cli.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from service.core.paths import DEFAULT_MODEL_DIR, REPO


def _add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=str(DEFAULT_MODEL_DIR),
        help=f"model directory (default: {DEFAULT_MODEL_DIR.relative_to(REPO)})",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default: auto)")
    p.add_argument(
        "--precision",
        default="fp32",
        choices=("fp32", "int8"),
        help="model weights (default: fp32; int8 = the model's quantized variant, CPU only)",
    )


HANDED_OVER = {  # verb -> (package, module run with `python -m`, what it needs)
    "train": ("training", "training", "the training extra"),
    "quantize": ("training", "training.quantize", "the training extra"),
}


def hand_over(verb: str, argv: list[str]) -> int:
    """Run `verb` in the package that owns it, in this process's place (os.execv)."""
    import importlib.util

    package, module, needs = HANDED_OVER[verb]
    if importlib.util.find_spec(package) is None:  # checked, not imported
        print(
            f"error: `sentiment {verb}` needs the {package} package ({needs}), which this serving-only install "
            "does not have; run `make setup` in a full checkout",
            file=sys.stderr,
        )
        return 2
    os.execv(sys.executable, [sys.executable, "-m", module, *argv])
    return 0  # not reached


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.behaviour:
        return cmd_behaviour(args)
    if not args.data:
        print("sentiment evaluate: error: give --data FILE (labelled), or --behaviour", file=sys.stderr)
        return 2
    from service.batch.evaluate import evaluate_file
    from service.core.evaluation import format_report

    result = evaluate_file(args.data, args.model, args.format, args.batch_size, args.device, args.precision)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"model {result['model_version']} ({result['precision']}) on {args.data}")
        print(format_report(result))
        if result["skipped_rows"]:
            print(f"\n{result['skipped_rows']} rows skipped, e.g. {result['skipped_examples'][0]}")
    return 0


def cmd_behaviour(args: argparse.Namespace) -> int:
    from service.batch.evaluate import behaviour_file
    from service.core.behaviour import format_table

    result = behaviour_file(args.model, args.data, args.format, args.device, args.precision, args.max_cases)
    if args.json:
        print(json.dumps({**result, "results": [r.to_dict() for r in result["results"]]}))
        return 0
    print(f"behavioural suite of model {result['model_version']} ({result['precision']}), failure rate per test:")
    print(format_table(result["results"]))
    for r in result["results"]:
        for example in r.examples[:2]:
            print(f"  {r.name} fails: {example}")
    swap = result.get("emoticon_swap")
    if swap:
        print(f"emoticon -> emoji swap on {args.data}: {swap['unchanged']}/{swap['n']} labels unchanged "
              f"({swap['share_unchanged']:.1%})")  # fmt: skip
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from service.batch.command import run_score

    return run_score(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from service.api.serve import serve

    return serve(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sentiment",
        description="Tweet sentiment: train, evaluate, score, serve. "
        "Measurement (bench, loadtest, reliability) is `sentiment-lab` (python -m loadtests).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("train", help="train and export a model (see `sentiment train --help`)", add_help=False)
    sub.add_parser(
        "quantize",
        help="build a model's batch-invariant int8 variant (see `sentiment quantize --help`)",
        add_help=False,
    )

    from service.batch.command import add_score_parser, batch_size_help

    ev = sub.add_parser("evaluate", help="metrics of a model on a labelled file, or its behavioural suite")
    ev.add_argument("--data", help="labelled file: SemEval TSV (id, label, text), CSV or JSONL")
    ev.add_argument(
        "--behaviour",
        action="store_true",
        help="run the behavioural suite (CheckList-style: failure rate per capability test) instead of the metrics; "
        "with --data, also the emoticon -> emoji swap invariance on that file's texts",
    )
    ev.add_argument("--max-cases", type=int, default=60, help="--behaviour: cases per test at most (default: 60)")
    ev.add_argument("--format", default=None, help="semeval | tsv | csv | jsonl (default: by extension)")
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    ev.add_argument("--batch-size", type=int, default=256, help=batch_size_help(256))
    _add_model_arg(ev)

    add_score_parser(sub, _add_model_arg)

    sv = sub.add_parser("serve", help="serve the model over HTTP (BentoML); flags override SENTIMENT_* variables")
    from service.api.serve import add_serve_args

    add_serve_args(sv)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in HANDED_OVER:
        return hand_over(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "serve":  # before the imports below: the supervisor process must not import torch
        return cmd_serve(args)
    from service.batch.readers import InputFormatError
    from service.batch.rows import ScoringError
    from service.core.manifest import ModelLoadError

    handlers = {
        "evaluate": cmd_evaluate,
        "score": cmd_score,
        "serve": cmd_serve,
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
