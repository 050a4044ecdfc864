"""`sentiment score --engine ray` on a real local Ray cluster (2 CPUs, 1 model actor, shared by the module)."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from service.batch.engines.local import score_file
from service.batch.rows import ScoringError
from service.core.artifact import load_artifact
from service.core.paths import REPO
from tests.service.batch.test_scoring import TEXTS, read_output

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def semeval_file(tmp_path_factory):
    """A SemEval-style TSV (no header, gold labels, quirks) with a few bad rows."""
    d = tmp_path_factory.mktemp("ray-in")
    lines = []
    for i in range(900):
        text = f"{TEXTS[i % len(TEXTS)]} number {i}"
        lines.append(f'{i}\tneutral\t"{text}"\t' if i % 3 else f"{i}\tpositive\t{text}")
        if i % 250 == 0:
            lines.append(f"bad{i}\tneutral\t   ")  # empty text
    p = d / "tweets.tsv"
    p.write_text("\n".join(lines))
    return p


def test_cli_engine_ray_starts_and_stops_its_own_cluster(  # first: before the module cluster exists
    tmp_path, tiny_model
):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS) + "\n")
    out = tmp_path / "out.csv"
    ray_args = ["--model", str(tiny_model), "--ray-actors", "1", "--no-progress", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "score", str(src), "-o", str(out), "--engine", "ray", *ray_args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stderr.strip().splitlines()[-1])
    assert summary["rows"] == len(read_output(out)) == len(TEXTS)


def test_ray_gives_the_same_rows_and_labels_as_the_local_engine(cluster, tmp_path, tiny_model, semeval_file):
    from service.batch.engines.ray import score_with_ray

    local = tmp_path / "local.jsonl"
    s_local = score_file(load_artifact(tiny_model, "cpu"), str(semeval_file), str(local), progress=False)
    out = tmp_path / "ray.jsonl"
    s_ray = score_with_ray(tiny_model, str(semeval_file), str(out), actors=1, window=256, progress=False)
    local_rows, ray_rows = read_output(local), read_output(out)
    assert len(ray_rows) == s_ray.rows == s_local.rows == 900
    assert [r["id"] for r in ray_rows] == [r["id"] for r in local_rows]  # same order
    assert [r["label"] for r in ray_rows] == [r["label"] for r in local_rows]
    for a, b in zip(ray_rows, local_rows, strict=True):
        assert a["input_label"] == b["input_label"] and a["model_version"] == b["model_version"]
        for k, v in b["scores"].items():
            assert a["scores"][k] == pytest.approx(v, abs=1e-5)
    rejects = (tmp_path / "ray.jsonl.rejects.jsonl").read_text().splitlines()
    assert len(rejects) == s_ray.rejected == s_local.rejected == 4
    assert json.loads(rejects[0])["line"] == 2


def test_ray_reads_a_directory_of_shards_and_writes_parquet(cluster, tmp_path, tiny_model):
    from service.batch.engines.ray import score_with_ray

    shards = tmp_path / "shards"
    shards.mkdir()
    rows = [{"id": f"r{i}", "text": f"{TEXTS[i % len(TEXTS)]} {i}"} for i in range(300)]
    pq.write_table(pa.Table.from_pylist(rows[:100]), shards / "part-0.parquet")
    (shards / "part-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[100:200]))
    (shards / "part-2.csv").write_text("id,text\n" + "".join(f'{r["id"]},"{r["text"]}"\n' for r in rows[200:]))
    out_file = tmp_path / "scored.parquet"
    score_with_ray(tiny_model, str(shards), str(out_file), actors=1, progress=False)
    got = read_output(out_file)
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    out_dir = tmp_path / "scored_dir"
    summary = score_with_ray(tiny_model, str(shards), f"{out_dir}/", actors=1, window=128, progress=False)
    parts = sorted(out_dir.glob("part-*.parquet"))
    assert len(parts) >= 2 and summary.rows == 300
    assert [r["label"] for r in pq.read_table(out_dir).to_pylist()] == [r["label"] for r in got]


def test_ray_on_error_fail_names_file_and_line(cluster, tmp_path, tiny_model):
    from service.batch.engines.ray import score_with_ray

    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": 1, "text": "ok"}\n{oops\n')
    with pytest.raises(ScoringError, match=r"bad.jsonl: line 2: invalid JSON"):
        score_with_ray(tiny_model, str(src), str(tmp_path / "o.jsonl"), actors=1, on_error="fail", progress=False)
    assert not (tmp_path / "o.jsonl").exists()


def test_ray_resume_refuses_a_changed_input_or_option_and_redoes_what_does_not_verify(cluster, tmp_path, tiny_model):
    """A job stopped by a bad row (``--on-error fail``) leaves its committed pieces and its journal: a plain re-run
    is refused, a resume with another option or a changed input is refused, a shard that does not match its record
    is not counted as done, and --restart starts over to the local engine's output."""
    from service.batch import shards as shard_files
    from service.batch.engines.ray import score_with_ray

    src = tmp_path / "in.jsonl"
    rows = [json.dumps({"id": f"r{i}", "text": f"{TEXTS[i % len(TEXTS)]} {i}"}) for i in range(600)]
    src.write_text("\n".join([*rows, "{oops"]) + "\n")
    out = tmp_path / "out"
    run = {"actors": 1, "window": 64, "progress": False, "split_bytes": 4000}
    with pytest.raises(ScoringError, match=r"in.jsonl: line 601: invalid JSON"):
        score_with_ray(tiny_model, str(src), f"{out}/", on_error="fail", **run)
    staging = tmp_path / "out.partial.parts"
    records = sorted(staging.glob("_part-*.json"))
    assert records and (tmp_path / "out.partial.journal.json").is_file() and not out.exists()
    with pytest.raises(ScoringError, match="pass --resume to continue it, or --restart"):
        score_with_ray(tiny_model, str(src), f"{out}/", on_error="fail", **run)
    with pytest.raises(ScoringError, match=r"options changed.*on_error: 'fail' then, 'skip' now"):
        score_with_ray(tiny_model, str(src), f"{out}/", on_error="skip", resume=True, **run)
    name = records[0].name.removeprefix("_").removesuffix(".json")
    shard = shard_files.shard_file(staging, name, "parquet")
    assert shard_files.committed(staging, name, "parquet") is not None
    shard.write_bytes(shard.read_bytes() + b"x")  # no longer what its record says
    assert shard_files.committed(staging, name, "parquet") is None
    src.write_text("\n".join(rows) + "\n")  # the bad row fixed: another input
    with pytest.raises(ScoringError, match="refusing to resume: the input .* changed"):
        score_with_ray(tiny_model, str(src), f"{out}/", on_error="fail", resume=True, **run)
    summary = score_with_ray(tiny_model, str(src), f"{out}/", on_error="fail", restart=True, **run)
    local = tmp_path / "local.jsonl"
    score_file(load_artifact(tiny_model, "cpu"), str(src), str(local), progress=False)
    got = pq.read_table(out).to_pylist()
    assert summary.rows == 600 and summary.resumed_from == 0
    assert [(r["id"], r["label"]) for r in got] == [(r["id"], r["label"]) for r in read_output(local)]
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["rows"] == 600 and manifest["options"]["on_error"] == "fail"
    assert sum(s["rows"] for s in manifest["shards"]) == 600 and len(manifest["shards"]) > 1
