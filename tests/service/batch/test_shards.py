"""Worker-written shards (service/batch/shards.py) and the driver's end of a Ray job (service/batch/merge.py), without
Ray: the pieces of a file scored by the real tiny model, committed one by one, then merged: the merged JSONL and CSV
are byte for byte the local engine's files, the Parquet its rows, the rejects its rejects file; a shard that does not
match its record is not committed; leftovers of a crash are cleaned."""

from __future__ import annotations

import json

import pytest

from service.batch import shards
from service.batch.engines.local import ModelScorer, score_file
from service.batch.merge import merge_rejects, merge_shards
from service.batch.splits import scan_inputs
from service.core.artifact import load_artifact
from tests.service.batch.test_scoring import TEXTS, read_output

OPTIONS = {"text_field": "text", "id_field": "id", "window": 32, "on_error": "skip"}


@pytest.fixture(scope="module")
def scorer(tiny_model):
    return ModelScorer(load_artifact(tiny_model, "cpu"), batch_size=16)


@pytest.fixture
def src(tmp_path):
    lines = []
    for i in range(300):
        lines.append(json.dumps({"id": f"r{i}", "text": f"{TEXTS[i % len(TEXTS)]} {i}", "n": i}))
        if i % 70 == 3:
            lines.append("{oops")
    p = tmp_path / "in.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p


def _commit_all(src, staging, scorer, shard_fmt, options=OPTIONS):
    staging.mkdir()
    _, pieces = scan_inputs([str(src)], None, 3000)
    assert len(pieces) > 3
    results = [
        shards.score_piece(
            p.as_dict(),
            scorer.predict_proba,
            labels=scorer.labels,
            version=scorer.version,
            staging=staging,
            shard_fmt=shard_fmt,
            options=options,
            many_files=False,
        )
        for p in pieces
    ]
    return [p.name for p in pieces], results


@pytest.mark.parametrize("out_fmt", ["jsonl", "csv", "parquet"])
def test_merged_shards_are_the_local_engines_output(tmp_path, src, scorer, out_fmt):
    shard_fmt = "parquet" if out_fmt == "parquet" else "jsonl"
    names, records = _commit_all(src, tmp_path / "staging", scorer, shard_fmt)
    assert sum(r["rows"] for r in records) == 300 and sum(r["rejected"] for r in records) == 5
    assert all(shards.committed(tmp_path / "staging", n, shard_fmt) == r for n, r in zip(names, records, strict=True))
    local = tmp_path / f"local.{out_fmt}"
    score_file(scorer, str(src), str(local), progress=False, window=32)
    merged = tmp_path / f"merged.{out_fmt}"
    merge_shards(tmp_path / "staging", names, shard_fmt, out_fmt, merged)
    if out_fmt == "parquet":
        assert read_output(merged) == read_output(local)
    else:
        assert merged.read_bytes() == local.read_bytes()
    merge_rejects(tmp_path / "staging", names, tmp_path / "rejects.jsonl")
    assert (tmp_path / "rejects.jsonl").read_bytes() == (tmp_path / f"local.{out_fmt}.rejects.jsonl").read_bytes()


def test_a_shard_that_does_not_match_its_record_is_not_committed_and_leftovers_go(tmp_path, src, scorer):
    staging = tmp_path / "staging"
    names, _ = _commit_all(src, staging, scorer, "parquet")
    shard = shards.shard_file(staging, names[1], "parquet")
    shard.write_bytes(shard.read_bytes()[:-1])
    assert shards.committed(staging, names[1], "parquet") is None
    shards.rejects_file(staging, names[0]).write_text("changed\n")
    assert shards.committed(staging, names[0], "parquet") is None
    (staging / "part-00000-00009.parquet.tmp").write_bytes(b"half")
    keep = set(names[2:])
    shards.clean_uncommitted(staging, keep)
    left = {p.name.removeprefix("_").split(".", 1)[0] for p in staging.iterdir()}
    assert left == keep


def test_on_error_fail_commits_nothing_of_the_piece(tmp_path, src, scorer):
    _, results = _commit_all(src, tmp_path / "staging", scorer, "jsonl", {**OPTIONS, "on_error": "fail"})
    failed = [r for r in results if "failed" in r]
    assert failed and failed[0]["failed"].endswith(
        "line 5: invalid JSON (Expecting property name enclosed in double quotes)"
    )
    assert len(list((tmp_path / "staging").glob("_part-*.json"))) == len(results) - len(failed)
