"""What sampled tracing costs: served single-text throughput at trace ratios 0, the default and 1.0.

One server per ratio (``SENTIMENT_TRACE_SAMPLE``), all exporting to a local OTLP/HTTP sink (a thread of this
process that answers every export with 200, as a collector would), so the sampled spans are really built,
batched, encoded and sent. The servers run side by side and are loaded in turns (ratio 0, default, 1.0, then
again), so a neighbour's burst on a shared machine hits every ratio alike; the table gives each ratio's median
req/s, the server's CPU time per request (steadier than req/s where other work shares the cores) and both costs
against ratio 0.

It also times the two pieces in this process (`span_cost`): the per-request decision, and one sampled span
recorded and exported (CPU of every thread, the exporter's included). ``decision + ratio x span`` over the
server's CPU per request is the expected cost of a ratio, a bound that does not depend on the neighbours.

    python -m loadtests.bench.tracing --model models/default --seconds 3 --rounds 3

`sentiment bench` runs it as its ``tracing`` section (``sentiment bench --only tracing`` runs it alone).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from loadtests.bench import servers
from loadtests.bench.run import Plan, load, load_texts
from service.api.launcher import free_port
from service.api.settings import ServiceSettings
from service.api.tracing import Tracing
from service.core.paths import DATA_DIR

DEFAULT_RATIO = ServiceSettings.model_fields["trace_sample"].default
# the scope of a typical request without a traceparent (the decision scans its headers)
NO_PARENT = {
    "headers": [
        (b"host", b"127.0.0.1:3000"),
        (b"user-agent", b"python-httpx/0.29.0"),
        (b"accept", b"*/*"),
        (b"accept-encoding", b"gzip, deflate"),
        (b"connection", b"keep-alive"),
        (b"content-type", b"application/json"),
        (b"content-length", b"24"),
    ]
}


class Sink(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP endpoint that accepts every export (counts them; decodes nothing)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.exports = 0
        self.bytes = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class SinkHandler(http.server.BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self.server.exports += 1
        self.server.bytes += n
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def sink() -> Iterator[Sink]:
    s = Sink()
    thread = threading.Thread(target=s.serve_forever, daemon=True)
    thread.start()
    try:
        yield s
    finally:
        s.shutdown()
        s.server_close()


def span_cost(n: int = 3000) -> dict[str, float]:
    """CPU microseconds of one unsampled decision at the default ratio and of one sampled span (record + export)."""
    tracing = Tracing(DEFAULT_RATIO, enabled=True)
    t0 = time.process_time()
    for _ in range(n):
        tracing.decide(NO_PARENT)
    decide_us = (time.process_time() - t0) / n * 1e6
    attrs = {"http.request.method": "POST", "http.route": "/predict", "sentiment.request_id": "0123456789abcdef"}
    attrs |= {"sentiment.text_count": 1, "sentiment.batch_size": 12, "sentiment.queue_wait_ms": 1.2}
    with sink() as collector:
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.url  # read by the exporter when it is made
        try:
            parent = Tracing(1.0, enabled=True)
            ctx = parent.decide(NO_PARENT)
            assert ctx is not None
            parent.record(ctx, "warm-up", time.perf_counter(), 200, attrs)
            parent.flush()
            t0 = time.process_time()
            for _ in range(n):
                parent.record(ctx, "POST /predict", time.perf_counter(), 200, {**attrs, "sentiment.model_ms": 2.5})
            parent.flush()
            span_us = (time.process_time() - t0) / n * 1e6
        finally:
            del os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    return {"decide_us": round(decide_us, 3), "span_us": round(span_us, 2)}


def run_tracing(
    model: Path,
    work: Path,
    *,
    ratios: tuple[float, ...] = (0.0, DEFAULT_RATIO, 1.0),
    seconds: float = 3.0,
    rounds: int = 3,
    concurrency: int = 64,
    workers: int = 1,
    data_dir: Path = DATA_DIR,
) -> dict[str, Any]:
    """Single-text req/s per trace ratio (median of `rounds` turns of `seconds` each, `concurrency` connections)."""
    bodies = work / "single.json"
    bodies.write_text(json.dumps([[t] for t in load_texts(data_dir, 4000)]))
    plan = Plan((concurrency,), seconds, 0.5, (), 0.0, 0)
    runs: dict[float, list[dict[str, Any]]] = {r: [] for r in ratios}
    with sink() as collector, ExitStack() as stack:
        started = {}
        for ratio in ratios:
            port = free_port()
            env = {"SENTIMENT_TRACE_SAMPLE": str(ratio), "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
            env["OTEL_BSP_SCHEDULE_DELAY"] = "1000"  # ms between exports
            cmd = servers.serve_cmd(model, port, "--workers", str(workers))
            started[ratio] = stack.enter_context(servers.started(cmd, port, env, log=work / f"trace-{ratio}.log"))
        for _ in range(rounds):
            for ratio in ratios:
                runs[ratio].append(load(started[ratio], bodies, concurrency, plan))
        exports = collector.exports
    base = statistics.median(r["rps"] for r in runs[ratios[0]])
    table = []
    for ratio in ratios:
        rps = statistics.median(r["rps"] for r in runs[ratio])
        cpu_us = cpu_per_request(runs[ratio])
        table.append(
            {
                "ratio": ratio,
                "rps_median": rps,
                "rps_runs": [r["rps"] for r in runs[ratio]],
                "p99_ms_median": statistics.median(r["p99_ms"] for r in runs[ratio]),
                "cost_vs_0": round(1 - rps / base, 4) if base else None,
                "server_cpu_us_per_request": cpu_us,
                "cpu_cost_vs_0": round(cpu_us / cpu_per_request(runs[ratios[0]]) - 1, 4),
                "non_200": sum(r["non_200"] for r in runs[ratio]),
            }
        )
    pieces = span_cost()
    base_cpu = cpu_per_request(runs[ratios[0]])
    pieces["expected_cost_at_default"] = round((pieces["decide_us"] + DEFAULT_RATIO * pieces["span_us"]) / base_cpu, 4)
    return {
        "span_cost": pieces,
        "what": f"single-text /predict, {concurrency} connections, {workers} worker(s) per server, "
        f"{rounds} turns of {seconds:g} s per ratio, spans exported to a local OTLP/HTTP sink",
        "default_ratio": DEFAULT_RATIO,
        "exports_received": exports,
        "table": table,
    }


def cpu_per_request(runs: list[dict[str, Any]]) -> float:
    """Median server CPU microseconds per answered request over `runs` (server CPU cores / req/s)."""
    return round(statistics.median(1e6 * r["server_cpu_cores"] / r["rps"] for r in runs if r["rps"]), 1)


def render(res: dict[str, Any]) -> str:
    lines = [
        f"Tracing cost ({res['what']}; {res['exports_received']} OTLP exports received):",
        "",
        "| trace ratio | req/s (median) | runs | p99 ms | req/s cost vs 0 | server CPU µs/req | CPU cost vs 0 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in res["table"]:
        default = " (default)" if row["ratio"] == res["default_ratio"] else ""
        runs = ", ".join(f"{x:.0f}" for x in row["rps_runs"])
        cost = f"{100 * row['cost_vs_0']:.1f}%" if row["cost_vs_0"] is not None else "n/a"
        lines.append(
            f"| {row['ratio']:g}{default} | {row['rps_median']:.0f} | {runs} | {row['p99_ms_median']:.1f} | {cost} | "
            f"{row['server_cpu_us_per_request']:.0f} | {100 * row['cpu_cost_vs_0']:.1f}% |"
        )
    p = res["span_cost"]
    lines += [
        "",
        f"In-process pieces: the per-request decision {p['decide_us']} µs CPU, one sampled span recorded and exported "
        f"{p['span_us']} µs CPU: expected cost of the default ratio {res['default_ratio']:g} = "
        f"(decision + ratio x span) / CPU per request at 0 = {100 * p['expected_cost_at_default']:.2f}%.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.bench.tracing", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="models/default")
    p.add_argument("--data", default=str(DATA_DIR))
    p.add_argument("--seconds", type=float, default=3.0, help="seconds per turn (default: 3)")
    p.add_argument("--rounds", type=int, default=3, help="turns per ratio (default: 3)")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--workers", type=int, default=1, help="workers per server (default: 1)")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        res = run_tracing(
            Path(args.model),
            Path(tmp),
            seconds=args.seconds,
            rounds=args.rounds,
            concurrency=args.concurrency,
            workers=args.workers,
            data_dir=Path(args.data),
        )
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    print(render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
