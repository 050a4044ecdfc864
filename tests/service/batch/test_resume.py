"""Resuming a scoring job: after SIGKILL every input row comes out exactly once, in order (each output format);
a journal of another input, model or option set is refused; no journal means a fresh start."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from service.batch.engines.local import score_file
from service.batch.rows import ScoringError
from service.core.artifact import load_artifact
from tests.service.batch.test_scoring import big_input, cli, read_output


@pytest.fixture(scope="module")
def artifact(tiny_model):
    return load_artifact(tiny_model, "cpu")


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_resume_after_sigkill_gives_exactly_one_row_per_input(tmp_path, tiny_model, ext):
    n = 5_000
    src = big_input(tmp_path / "in.jsonl", n)
    out = tmp_path / f"out.{ext}"
    journal = Path(f"{out}.partial.journal.json")
    args = [str(src), "-o", str(out), "--model", str(tiny_model), "--window", "100"]
    proc = cli(*args)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            done = json.loads(journal.read_text())["records_done"]
        except (OSError, ValueError):
            done = 0
        if done >= 1000:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the job ended before it could be killed: {proc.communicate()}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not out.exists() and journal.exists()

    again = cli(*args)  # without --resume: refused, nothing lost
    _, err = again.communicate(timeout=120)
    assert again.returncode == 2 and "--resume" in err

    resumed = cli(*args, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "resumed after" in err
    rows = read_output(out)
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(n)]  # exactly once, in order
    rejects = Path(f"{out}.rejects.jsonl").read_text().splitlines()
    assert len(rejects) == len(range(0, n, 997)) and len(set(rejects)) == len(rejects)
    assert not journal.exists() and not list(tmp_path.glob("*.partial*"))

    clean = tmp_path / f"clean.{ext}"  # the same job without interruption gives the same rows
    score_file(load_artifact(tiny_model, "cpu"), str(src), str(clean), window=100, progress=False)
    assert read_output(clean) == rows


def test_resume_refuses_a_changed_input_or_model(tmp_path, artifact, tiny_model):
    src = big_input(tmp_path / "in.jsonl", 600)
    out = tmp_path / "out.jsonl"
    score_file(artifact, str(src), str(out), window=100, max_windows=2, progress=False)  # stops after 200 rows
    assert not out.exists() and Path(f"{out}.partial.journal.json").exists()

    other_model = tmp_path / "other"  # same weights, another version: still another model for the output
    shutil.copytree(tiny_model, other_model)
    manifest = json.loads((other_model / "manifest.json").read_text())
    manifest["version"] = "other-version"
    (other_model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ScoringError, match="model changed"):
        score_file(load_artifact(other_model, "cpu"), str(src), str(out), window=100, resume=True, progress=False)
    int8 = load_artifact(tiny_model, "cpu", precision="int8")  # same model, other weights: refused too
    with pytest.raises(ScoringError, match="model changed"):
        score_file(int8, str(src), str(out), window=100, resume=True, progress=False)

    with pytest.raises(ScoringError, match="options changed"):
        score_file(artifact, str(src), str(out), window=100, resume=True, on_error="fail", progress=False)
    with open(src, "a") as f:
        f.write(json.dumps({"id": "late", "text": "appended later"}) + "\n")
    with pytest.raises(ScoringError, match="input .* changed"):
        score_file(artifact, str(src), str(out), window=100, resume=True, progress=False)

    summary = score_file(artifact, str(src), str(out), window=100, restart=True, progress=False)
    assert summary.resumed_from == 0 and len(read_output(out)) == summary.rows == 601 and summary.rejected == 1


def test_resume_without_a_journal_starts_fresh_and_resume_of_stdin_is_refused(tmp_path, artifact):
    src = big_input(tmp_path / "in.jsonl", 50)
    out = tmp_path / "out.jsonl"
    summary = score_file(artifact, str(src), str(out), resume=True, progress=False)
    assert summary.resumed_from == 0 and len(read_output(out)) == 50
    with pytest.raises(ScoringError, match="stdin"):
        score_file(artifact, "-", str(out), fmt="txt", resume=True, progress=False)
