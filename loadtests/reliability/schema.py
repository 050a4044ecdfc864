"""Schemathesis against the service's own OpenAPI document (``/docs.json``), bounded in examples and time."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CHECKS = "all"  # every schemathesis check: server errors, response schemas, status codes, headers (Allow on 405)...
CONFIG = Path(__file__).with_name("schemathesis.toml")  # what the OpenAPI document cannot say (V2 tensor shapes)


def run_schemathesis(
    base_url: str,
    *,
    max_examples: int = 30,
    max_time_s: int = 60,
    seed: int = 1,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`schemathesis run BASE/docs.json --checks all`; returns figures from its JSON report."""
    exe = Path(sys.executable).parent / "schemathesis"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            str(exe),
            "--config-file",
            str(CONFIG),
            "run",
            f"{base_url}/docs.json",
            "--checks",
            CHECKS,
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            str(max_examples),
            "--max-time",
            str(max_time_s),
            "--seed",
            str(seed),
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--request-timeout",
            "30",
            "--report",
            "json",
            "--report-dir",
            tmp,
            "--no-color",
        ]
        for k, v in (headers or {}).items():
            cmd += ["--header", f"{k}: {v}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max_time_s + 120, cwd=tmp)  # its cache too
        reports = sorted(Path(tmp).glob("json-*.json"))
        if not reports:
            raise RuntimeError(f"schemathesis wrote no report (exit {proc.returncode}): {proc.stdout[-2000:]}")
        report = json.loads(reports[-1].read_text())
    failures = report.get("failures", [])
    server_errors = sum(
        f["count"] for f in failures if f.get("code") in ("ST101",) or "server error" in f["title"].lower()
    )
    schema_violations = sum(f["count"] for f in failures if "schema" in f["title"].lower())
    return {
        "command": " ".join(["schemathesis", *cmd[1:19]]),
        "exit_code": proc.returncode,
        "operations_tested": report["operations"]["tested"],
        "test_cases": report["test_cases"]["generated"],
        "server_errors": server_errors,
        "schema_violations": schema_violations,
        "failures": [
            {"code": f.get("code"), "title": f["title"], "count": f["count"], "operations": f["operations"]}
            for f in failures
        ],
        "errors": report.get("errors", []),
        "details": _failure_details(proc.stdout),
    }


def _failure_details(stdout: str) -> str:
    """The FAILURES section of schemathesis' console output (what broke, and a curl line to reproduce it)."""
    start = stdout.find("FAILURES")
    end = stdout.find("SUMMARY")
    return stdout[start:end].strip()[:4000] if start >= 0 else ""
