"""The `sentiment score` subcommand: its arguments and the dispatch to an engine (local, ray, or a running API).

Kept apart from cli.py so the parser block there stays one call; heavy imports (torch, ray) happen only in the
engine that runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.batch.job import JobOptions
from service.core.cores import CPU_CHUNK

EPILOG = """examples:
  sentiment score tweets.jsonl -o scored.jsonl
  sentiment score data.tsv.gz -o scored.parquet --on-error fail
  cat texts.txt | sentiment score - --format txt -o - > scored.jsonl
  sentiment score big.csv -o big.scored.csv --resume        # after a crash or Ctrl-C
  sentiment score shards/ -o scored/ --engine ray --ray-address auto
  sentiment score shards/ -o scored/ --engine ray --ray-address auto --resume   # after the driver died
  sentiment score tweets.jsonl -o scored.jsonl --via-api http://127.0.0.1:3000
"""


def add_score_parser(sub: Any, add_model_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    from service.batch.job import ScoringSettings

    d = ScoringSettings()
    sc = sub.add_parser(
        "score",
        help="score a file of texts (jsonl, csv, tsv, txt, parquet; .gz; - = stdin); local, Ray or via the API",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.add_argument(
        "input",
        help="input file, or - for stdin (read as JSON lines unless --format says otherwise); "
        "--engine ray also reads a directory of shards",
    )
    sc.add_argument("-o", "--output", required=True, help="output .jsonl, .csv or .parquet, or - for stdout")
    sc.add_argument(
        "--format", default=None, help="semeval|tsv|csv|jsonl|txt|parquet (default: by extension; jsonl for stdin)"
    )
    sc.add_argument("--text-field", default="text", help="column/key with the text (default: text)")
    sc.add_argument("--id-field", default="id", help="column/key with the row id (default: id, else the row number)")
    sc.add_argument("--batch-size", type=int, default=d.batch_size, help=batch_size_help(d.batch_size, via_api=True))
    sc.add_argument(
        "--window", type=int, default=d.window, help=f"rows sorted, scored and committed together (default: {d.window})"
    )
    sc.add_argument(
        "--on-error",
        choices=("skip", "fail"),
        default=d.on_error,
        help="bad rows: set aside in OUTPUT.rejects.jsonl, or stop the job (default: %(default)s)",
    )
    sc.add_argument("--resume", action="store_true", help="continue an interrupted run of the same job")
    sc.add_argument("--restart", action="store_true", help="discard an interrupted run and start over")
    sc.add_argument("--engine", choices=("local", "ray"), default="local", help="local streaming or Ray Data")
    sc.add_argument("--ray-address", default=None, help="join this Ray cluster (e.g. auto, ray://host:10001)")
    sc.add_argument("--ray-actors", type=int, default=None, help="model replicas (default: CPUs / 2, GPUs if any)")
    sc.add_argument(
        "--ray-split-mb",
        type=float,
        default=64.0,
        help="--engine ray: cut input files bigger than this into pieces of about this size (default: 64)",
    )
    sc.add_argument("--via-api", metavar="URL", default=None, help="score through a running `sentiment serve`")
    sc.add_argument("--api-key", default=None, help="bearer token for --via-api")
    sc.add_argument("--json", action="store_true", help="print the summary as one JSON line (on stderr)")
    sc.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_model_arg(sc)


def _same_file(a: str, b: str) -> bool:
    return a != "-" and b != "-" and Path(a).resolve() == Path(b).resolve()


def batch_size_help(default: int, via_api: bool = False) -> str:
    """What --batch-size does, as Predictor does it: a CPU forward holds at most CPU_CHUNK texts."""
    api = "; with --via-api, texts per request (at most the server's max_texts)" if via_api else ""
    return (
        f"texts per model forward on a GPU (default: {default}); a CPU forward holds at most {CPU_CHUNK} of them{api}"
    )


def job_options(args: argparse.Namespace) -> JobOptions:
    """The job as the flags describe it: built once, handed to whichever engine runs it."""
    as_given = ("text_field", "id_field", "window", "on_error", "resume", "restart")  # flag name = option name
    return JobOptions(fmt=args.format, progress=not args.no_progress, **{k: getattr(args, k) for k in as_given})


def _refusal(args: argparse.Namespace) -> str | None:
    """Why these flags cannot run together (None when they can)."""
    if _same_file(args.input, args.output):
        return "the output would overwrite the input"
    if args.batch_size < 1 or args.window < 1:
        return "--batch-size and --window must be >= 1"
    if args.via_api and args.engine == "ray":
        return "--via-api and --engine ray are two different engines; pick one"
    if args.via_api and (args.precision != "fp32" or args.device != "auto"):
        return (
            "--precision and --device choose the local model; with --via-api the server's settings decide "
            "(start it with `sentiment serve --precision int8`)"
        )
    if args.ray_split_mb <= 0:
        return "--ray-split-mb must be > 0"
    return None


def run_score(args: argparse.Namespace) -> int:
    refusal = _refusal(args)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    options = job_options(args)
    if args.via_api:
        from service.batch.engines.api import score_file_via_api

        summary = score_file_via_api(  # requests of at most the server's max_texts (GET /model)
            args.via_api, args.input, args.output, options, batch_size=args.batch_size, api_key=args.api_key
        )
    elif args.engine == "ray":
        from service.batch.engines.ray import score_with_ray

        try:
            summary = score_with_ray(
                args.model,
                args.input,
                args.output,
                options,
                batch_size=args.batch_size,
                address=args.ray_address,
                actors=args.ray_actors,
                device=args.device,
                precision=args.precision,
                split_bytes=max(1, int(args.ray_split_mb * (1 << 20))),
            )
        except KeyboardInterrupt:
            print("interrupted: the committed shards are kept; run the same command with --resume", file=sys.stderr)
            raise
    else:
        from service.batch.engines.local import score_file
        from service.core.artifact import load_artifact

        artifact = load_artifact(args.model, args.device, precision=args.precision)
        try:
            summary = score_file(artifact, args.input, args.output, options, batch_size=args.batch_size)
        except KeyboardInterrupt:
            if args.output != "-" and args.input != "-":
                print(
                    "interrupted: everything committed so far is kept; run the same command with --resume to go on",
                    file=sys.stderr,
                )
            raise
    print(json.dumps(summary.as_dict()) if args.json else summary.describe(), file=sys.stderr)
    return 0
