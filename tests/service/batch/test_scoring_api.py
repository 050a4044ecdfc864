"""`sentiment score --via-api`: the same job through a real running server gives the local engine's labels."""

from __future__ import annotations

import json

import pytest

from service.api.launcher import free_port
from service.batch.engines.api import ApiScorer, score_file_via_api
from service.batch.engines.local import score_file
from service.batch.rows import ScoringError
from service.core.artifact import load_artifact
from tests.service.batch.test_scoring import TEXTS, read_output


def test_via_api_matches_the_local_engine(tmp_path, tiny_model, tiny_server):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": f"{TEXTS[i % 6]} {i}"}) + "\n" for i in range(300)))
    src.write_text(src.read_text() + '{"id": "x"}\n')  # a bad row stays a reject, it is not sent
    local, remote = tmp_path / "local.jsonl", tmp_path / "api.csv"
    score_file(load_artifact(tiny_model, "cpu"), str(src), str(local), progress=False)
    summary = score_file_via_api(tiny_server, str(src), str(remote), batch_size=64, window=128, progress=False)
    a, b = read_output(local), read_output(remote)
    assert summary.rows == 300 and summary.rejected == 1
    assert [r["id"] for r in b] == [str(r["id"]) for r in a]
    assert [r["label"] for r in b] == [r["label"] for r in a]
    for x, y in zip(a, b, strict=True):
        assert float(y["score_positive"]) == pytest.approx(x["scores"]["positive"], abs=1e-5)
    assert b[0]["model_version"] == f"api:{tiny_server}"


def test_via_api_unreachable_server_is_a_clear_error_and_keeps_nothing_half_written(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("hello\n")
    with pytest.raises(ScoringError, match="cannot reach"):
        score_file(ApiScorer(f"http://127.0.0.1:{free_port()}", retries=0), str(src), str(tmp_path / "o.jsonl"))
    assert not (tmp_path / "o.jsonl").exists()
