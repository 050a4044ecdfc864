"""`sentiment-lab`, the measurement tooling's own command (``python -m loadtests``): `bench`, `loadtest` and
`reliability`, everything that drives a running server. The product's command (`sentiment`) does not offer them,
and the service package never imports this package.

    sentiment-lab bench --quick --out build/bench           # model, scorer and HTTP throughput (benchmarks.md)
    sentiment-lab loadtest --scenario ramp --users 64       # headless locust run, summary + HTML report
    sentiment-lab reliability --scenarios badinput,security # bad input, schema, overload, faults, security
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from service.core.paths import DATA_DIR, DEFAULT_MODEL_DIR

DESCRIPTION = (
    "Measure and attack a real server on 127.0.0.1 (the tooling of loadtests/): bench, loadtest, reliability. "
    "The product's verbs are `sentiment`'s."
)


def cmd_bench(args: argparse.Namespace) -> int:
    import signal

    from loadtests.bench.run import run_bench

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed bench still stops the servers it started
    if args.only == "tracing":
        from loadtests.bench.tracing import main as tracing_main

        return tracing_main(["--model", args.model, *(["--data", args.data] if args.data else [])])
    res = run_bench(Path(args.model), Path(args.out), quick=args.quick, data_dir=Path(args.data or DATA_DIR))
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


def cmd_reliability(args: argparse.Namespace) -> int:
    from loadtests.reliability import report
    from loadtests.reliability.runner import RunConfig, run

    as_given = ("generated", "schema_examples", "overload_seconds", "batch_rows", "full_audit")  # flag = field
    cfg = RunConfig(
        Path(args.model),
        Path(args.other_model) if args.other_model else None,
        tuple(args.scenarios.split(",")),
        overload_factor=args.factor,
        log_dir=Path(args.log_dir) if args.log_dir else None,
        **{name: getattr(args, name) for name in as_given},
    )
    results = run(cfg)
    command = f"sentiment-lab reliability --model {args.model} --overload-seconds {args.overload_seconds:g}" + (
        f" --other-model {args.other_model}" if args.other_model else ""
    )
    report.write(results, Path(args.out), Path(args.json) if args.json else None, command)
    for name, figures, ok in report.summary_rows(results):
        print(f"{'PASS' if ok else 'n/a ' if ok is None else 'FAIL'}  {name}: {figures}")
    print(f"wrote {args.out}" + (f" and {args.json}" if args.json else ""), file=sys.stderr)
    return 0


def _add_reliability_parser(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    from loadtests.reliability.runner import SCENARIOS

    rl = add_parser(
        "reliability", help="bad input, schema, overload, fault and security scenarios against real servers -> report"
    )
    rl.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model directory to serve")
    rl.add_argument(
        "--other-model",
        default=None,
        help="a second model with another vocabulary (e.g. another --limit), for the mismatched-file cases",
    )
    rl.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma list of the scenarios to run (default: all: {','.join(SCENARIOS)})",
    )
    rl.add_argument("--generated", type=int, default=200, help="hypothesis-generated bodies (default: 200)")
    rl.add_argument("--schema-examples", type=int, default=30, help="schemathesis examples per operation")
    rl.add_argument("--overload-seconds", type=float, default=15.0, help="length of the overload run (default: 15)")
    rl.add_argument("--factor", type=float, default=3.0, help="overload as a multiple of saturation (default: 3)")
    rl.add_argument("--batch-rows", type=int, default=60_000, help="rows of the batch kill/resume input")
    rl.add_argument("--full-audit", action="store_true", help="pip-audit the whole environment, not the runtime deps")
    rl.add_argument("--log-dir", default=None, help="keep the servers' logs here")
    rl.add_argument("--out", default="build/reliability.md", help="markdown report (default: build/reliability.md)")
    rl.add_argument("--json", default="build/reliability.json", help="JSON figures (default: build/reliability.json)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sentiment-lab", description=DESCRIPTION)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    be = sub.add_parser(
        "bench", help="measure model, scorer and HTTP throughput; write benchmarks.md (+ JSON, plots) to --out"
    )
    be.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model directory (default: models/default)")
    be.add_argument("--out", default="build/bench", help="output directory (default: build/bench)")
    be.add_argument(
        "--data", default=None, help=f"directory of SemEval .tsv files to draw texts from (default: {DATA_DIR})"
    )
    be.add_argument("--quick", action="store_true", help="fewer, shorter runs (~2 min instead of ~6)")
    be.add_argument("--only", choices=["tracing"], help="one section alone (tracing: req/s at trace ratios 0, 0.05, 1)")

    lt = sub.add_parser("loadtest", help="headless locust run against 127.0.0.1 (bounded users and time)")
    lt.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model to serve (ignored with --url)")
    lt.add_argument("--url", default=None, help="test this running loopback server instead of starting one")
    lt.add_argument("--users", type=int, default=32, help="peak simulated users (default: 32, at most 256)")
    lt.add_argument("--spawn-rate", type=float, default=16, help="users started per second (default: 16)")
    lt.add_argument("--run-time", type=int, default=60, help="seconds of load (default: 60, at most 600)")
    lt.add_argument(
        "--scenario",
        choices=("mixed", "ramp", "spike"),
        default="mixed",
        help="load shape: mixed = all users throughout, ramp = users climb to --users over the run, spike = a "
        "quarter of the users, all of them for a fifth of the run, a quarter again (default: mixed)",
    )
    lt.add_argument(
        "--out",
        default="build/loadtest",
        help="directory for loadtest_* CSV, HTML and summary (default: build/loadtest)",
    )

    _add_reliability_parser(sub.add_parser)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    handlers = {"bench": cmd_bench, "loadtest": cmd_loadtest, "reliability": cmd_reliability}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
