"""The locustfile works against a real server: a short, bounded headless run (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.core.paths import REPO


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["mixed", "spike"])
def test_locust_smoke_run_writes_stats_and_summary(tiny_server: str, tmp_path: Path, scenario: str) -> None:
    cmd = [sys.executable, "-m", "loadtests", "loadtest", "--url", tiny_server, "--users", "4"]
    cmd += ["--spawn-rate", "4", "--run-time", "4", "--scenario", scenario, "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads((tmp_path / f"loadtest_{scenario}_summary.json").read_text())
    assert summary["requests"] > 0
    assert summary["failures"] == 0, summary["errors"]
    assert summary["texts"] >= summary["requests"]  # every request carries at least one text
    assert set(summary["by_request"]) <= {"/predict [1 text]", "/predict [2-16 texts]", "/predict [mixed lengths]"}
    assert (tmp_path / f"loadtest_{scenario}.html").stat().st_size > 0
    assert (tmp_path / f"loadtest_{scenario}_stats.csv").exists()
    assert "p99" in (tmp_path / f"loadtest_{scenario}_summary.md").read_text()


def test_loadtest_refuses_non_loopback_and_unbounded_runs(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "loadtests", "loadtest", "--out", str(tmp_path)]
    for extra, msg in (
        (["--url", "http://example.com:3000"], "loopback only"),
        (["--url", "http://127.0.0.1:9", "--users", "100000"], "--users must be"),
        (["--url", "http://127.0.0.1:9", "--run-time", "100000"], "--run-time must be"),
    ):
        proc = subprocess.run(base + extra, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2
        assert msg in proc.stderr
