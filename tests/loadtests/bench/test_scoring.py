"""The batch-scoring benchmark runs end to end on a tiny corpus and writes its report (no timing assertions)."""

from __future__ import annotations

import json

from loadtests.bench.scoring import run_bench


def test_bench_writes_markdown_and_json(tmp_path, tiny_model):
    result = run_bench(
        tiny_model, rows=300, rss_rows=(100, 300), threads=(1,), work_dir=tmp_path / "w", docs_dir=tmp_path / "docs"
    )
    (t,) = result["throughput"]
    assert t["torch_threads"] == 1 and t["raw_forward_rows_per_s"] > 0 and t["scorer_rows_per_s"] > 0
    assert [r["rows"] for r in result["peak_rss"]] == [100, 300]
    assert all(r["peak_rss_mib"] > 10 for r in result["peak_rss"])
    assert json.loads((tmp_path / "docs" / "batch-scoring-bench.json").read_text()) == result
    md = (tmp_path / "docs" / "batch-scoring-bench.md").read_text()
    assert "raw forward rows/s" in md and "| 300 |" in md
