"""The whole slice through the real CLI: train (one tiny epoch) -> export -> evaluate -> score -> serve."""

import json
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import REPO, running_server, train_tiny

pytestmark = pytest.mark.slow


def sentiment(*args, check=True):
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def test_train_export_evaluate_score_serve(tmp_path, splits_dir):
    model = train_tiny(tmp_path / "models", "e2e")
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["metrics"]["test"]["n"] > 0 and manifest["parity"]["max_abs_diff"] <= 1e-5

    out = sentiment("evaluate", "--data", str(splits_dir / "test.tsv"), "--model", str(model), "--json")
    metrics = json.loads(out.stdout)
    assert metrics["n"] == len((splits_dir / "test.tsv").read_text().splitlines()) == 10249  # the temporal test half
    assert {"avg_recall", "f1_pn", "accuracy", "n"} <= metrics.keys()
    assert 0.0 < metrics["avg_recall"] <= 1.0

    texts = ["what a great game tonight!!", "my flight got cancelled again, furious", "the store opens at 9"]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"t{i}", "text": t, "lang": "en"}) + "\n" for i, t in enumerate(texts)))
    sentiment("score", str(src), "-o", str(tmp_path / "out.jsonl"), "--model", str(model), "--no-progress")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["t0", "t1", "t2"] and all(r["lang"] == "en" for r in rows)
    for r in rows:
        assert r["label"] in ("negative", "neutral", "positive")
        assert sum(r["scores"].values()) == pytest.approx(1.0, abs=1e-4)

    with running_server(model) as url:
        req = urllib.request.Request(
            url + "/predict",
            data=json.dumps({"texts": texts}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            served = json.loads(r.read())
    assert [s["label"] for s in served] == [r["label"] for r in rows]
    for s, r in zip(served, rows, strict=True):
        for k, v in r["scores"].items():
            assert s["scores"][k] == pytest.approx(v, abs=1e-5)
