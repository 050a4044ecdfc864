"""`sentiment-lab reliability run`: every scenario against real servers on 127.0.0.1, then the report.

Each scenario gets its own server where it changes the server (API key, tight limits, kill, SIGTERM); a scenario
that raises is recorded with its error and the others still run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIOS = ("badinput", "schema", "security", "integrity", "overload", "faults", "batch", "audit")


@dataclass
class RunConfig:
    model: Path
    other_model: Path | None = None
    scenarios: tuple[str, ...] = SCENARIOS
    generated: int = 200
    schema_examples: int = 30
    overload_seconds: float = 15.0
    overload_factor: float = 3.0
    overload_max_concurrency: int = 32
    overload_timeout_s: int = 10
    batch_rows: int = 60_000
    full_audit: bool = False
    log_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _say(msg: str) -> None:
    print(f"[reliability {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _guard(results: dict[str, Any], key: str, fn: Callable[[], Any]) -> None:
    _say(f"{key} ...")
    t0 = time.monotonic()
    try:
        results[key] = fn()
    except Exception as e:  # one broken scenario must not hide the others
        results[key] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)[-1500:]}
    _say(f"{key} done in {time.monotonic() - t0:.0f} s")


@contextlib.contextmanager
def _server(results: dict[str, Any], keys: list[str], *args: Any, **kw: Any) -> Iterator[Any]:
    """A server for some scenarios; if it cannot start, those scenarios are recorded as not run."""
    from loadtests.reliability.server import running

    started = False
    try:
        with running(*args, ready_timeout=300.0, **kw) as s:
            started = True
            yield s
    except (RuntimeError, TimeoutError) as e:
        if started:
            raise
        for k in keys:
            results.setdefault(k, {"error": f"server did not start: {e}"})
        yield None


def run(cfg: RunConfig) -> dict[str, Any]:
    from loadtests.reliability import badinput, faults, integrity, overload, schema, security

    results: dict[str, Any] = {
        "meta": {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "model": str(cfg.model),
            "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        }
    }
    logs = cfg.log_dir
    tmp = Path(tempfile.mkdtemp(prefix="reliability-"))

    def log(name: str) -> Path | None:
        return logs / f"{name}.log" if logs else None

    if logs:
        logs.mkdir(parents=True, exist_ok=True)
    want = set(cfg.scenarios)
    if want & {"badinput", "schema", "security"}:
        limits = badinput.Limits.from_settings()
        with _server(
            results, ["badinput", "schema", "endpoints", "size_limit"], cfg.model, log_path=log("server-default")
        ) as s:
            if s is None:
                pass
            elif "badinput" in want:
                _guard(
                    results,
                    "badinput",
                    lambda: badinput.run_corpus(
                        s.host, s.port, badinput.hand_written(limits) + badinput.generated(cfg.generated, 0, limits)
                    ),
                )
            if s is not None and "schema" in want:
                _guard(results, "schema", lambda: schema.run_schemathesis(s.url, max_examples=cfg.schema_examples))
            if s is not None and "security" in want:
                _guard(results, "endpoints", lambda: security.exposed_endpoints(s.url, s.host, s.port))
                _guard(
                    results,
                    "size_limit",
                    lambda: security.size_limit_before_parsing(s.host, s.port, limits.max_body_bytes),
                )
    if "security" in want:
        key = "reliability-" + "k3y" * 8
        with _server(
            results, ["api_key"], cfg.model, env={"SENTIMENT_API_KEY": key}, log_path=log("server-apikey")
        ) as s:
            if s is not None:
                _guard(results, "api_key", lambda: security.api_key_checks(s.host, s.port, key))
        _guard(results, "constant_time", security.constant_time_compare)
        _guard(results, "container", security.container_user)
    if "integrity" in want:
        _guard(results, "integrity", lambda: integrity.run_all(cfg.model, tmp / "integrity", cfg.other_model))
    if want & {"overload", "faults"}:
        env = {
            "SENTIMENT_MAX_CONCURRENCY": str(cfg.overload_max_concurrency),
            "SENTIMENT_TIMEOUT_S": str(cfg.overload_timeout_s),
        }
        keys = ["overload", "kill_worker", "sigterm"]
        with _server(results, keys, cfg.model, env=env, log_path=log("server-overload")) as s:
            if s is None:
                pass
            elif "overload" in want:
                _guard(
                    results,
                    "overload",
                    lambda: overload.run_overload(
                        s.url,
                        factor=cfg.overload_factor,
                        seconds=cfg.overload_seconds,
                        server_timeout_s=cfg.overload_timeout_s,
                        sample_memory=s.rss_bytes,
                    ),
                )
            if "faults" in want:
                _guard(
                    results,
                    "kill_worker",
                    lambda: faults.kill_worker_under_load(s, server_timeout_s=cfg.overload_timeout_s),
                )
                _guard(results, "sigterm", lambda: faults.sigterm_drain(s, server_timeout_s=cfg.overload_timeout_s))
    if "batch" in want:
        _guard(
            results, "batch_resume", lambda: faults.batch_kill_and_resume(cfg.model, tmp / "batch", rows=cfg.batch_rows)
        )
        _guard(results, "unwritable", lambda: faults.unwritable_outputs(cfg.model, tmp / "unwritable"))
    if "audit" in want:
        _guard(results, "audit", lambda: security.dependency_audit(full=cfg.full_audit))
    results["meta"]["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    return results
