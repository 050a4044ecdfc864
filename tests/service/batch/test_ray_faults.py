"""Faults on a real 2-node Ray cluster (service/batch/ray_cluster.py: two `ray start` nodes in a fresh network
namespace, token auth on): a killed actor, a killed driver then ``--resume``, bad rows spread over pieces, and the
second node removed mid-job. After each, the output equals the local engine's row by row (ids, order, labels, scores
within 1e-5) and the rejects are the same. The jobs are small (the committed model on ~6,000 tweets, cut into ~20
pieces, two actors one per node); the faults strike when a few pieces are committed and most are not."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from service.batch.engines.local import score_file
from service.batch.ray_cluster import RayCluster, can_unshare
from service.core.artifact import load_artifact
from service.core.reference import clean_tweets
from tests.conftest import DEFAULT_MODEL
from tests.service.batch.test_scoring import read_output

pytest.importorskip("ray")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not can_unshare(), reason="needs root, unshare and nsenter (a network namespace)"),
]

ROWS = 6000
SPLIT_MB = "0.05"  # ~50 KB pieces: ~20 of them


@pytest.fixture(scope="module")
def cluster():
    c = RayCluster()
    try:
        yield c
    finally:
        c.stop()
        assert not c.pids()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """One JSONL file of real tweets (distinct ids) with bad rows in several pieces, and the local engine's output
    and rejects for it (the reference)."""
    d = tmp_path_factory.mktemp("ray-faults")
    tweets = clean_tweets(2000)
    lines = []
    for i in range(ROWS):
        t = tweets[i % len(tweets)]
        lines.append(json.dumps({"id": f"{t.id}-{i}", "text": t.text}, ensure_ascii=False))
        if i % 1400 == 700:
            lines.append('{"id": "broken", "text": ')  # invalid JSON
        if i % 1900 == 5:
            lines.append(json.dumps({"id": f"empty-{i}", "text": "  "}))
    src = d / "tweets.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ref = d / "local.jsonl"
    summary = score_file(load_artifact(DEFAULT_MODEL, "cpu"), str(src), str(ref), progress=False)
    assert summary.rejected == 8
    return {"src": src, "rows": read_output(ref), "rejects": (d / "local.jsonl.rejects.jsonl").read_text()}


def _score(cluster, src, out, *extra):
    argv = [str(Path(os.sys.executable)), "-m", "service.cli", "score", str(src), "-o", str(out), "--engine", "ray"]
    argv += ["--ray-address", cluster.address, "--ray-actors", "2", "--ray-split-mb", SPLIT_MB, "--window", "128"]
    return cluster.popen([*argv, "--model", str(DEFAULT_MODEL), "--no-progress", "--json", *extra])


def _finish(proc, timeout=240):
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(err.strip().splitlines()[-1])


def _wait_for_committed(staging: Path, n: int, proc, timeout=180) -> int:
    """Block until at least `n` pieces are committed (their records exist); the count when it returns."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = len(list(staging.glob("_part-*.json"))) if staging.is_dir() else 0
        if done >= n:
            return done
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} pieces committed in {timeout} s")


def _poll(what, check, timeout=60):
    """Wait until `check()` is truthy (a loaded CI machine may be slow to start an actor); its value."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def _both_actors(cluster) -> list[int] | None:
    actors = cluster.processes("ray::ShardScorer")
    return actors if len(actors) == 2 else None


def _second_node_with_an_actor(cluster) -> list[int] | None:
    node = cluster.second_node_pids()
    return node if set(node) & set(cluster.processes("ray::ShardScorer")) else None


def _assert_same(rows, data, rejects_path: Path):
    ref = data["rows"]
    assert [r["id"] for r in rows] == [r["id"] for r in ref]  # no row lost, none doubled, same order
    assert [r["label"] for r in rows] == [r["label"] for r in ref]
    for a, b in zip(rows, ref, strict=True):
        assert a["model_version"] == b["model_version"]
        for k, v in b["scores"].items():
            assert a["scores"][k] == pytest.approx(v, abs=1e-5)
    assert rejects_path.read_text() == data["rejects"]


def _pieces(src: Path) -> int:
    from service.batch.splits import scan_inputs

    return len(scan_inputs([str(src)], None, int(float(SPLIT_MB) * (1 << 20)))[1])


def test_a_killed_actor_is_restarted_and_the_output_is_exact(cluster, data, tmp_path):
    out = tmp_path / "out.jsonl"
    proc = _score(cluster, data["src"], out)
    done = _wait_for_committed(tmp_path / "out.jsonl.partial.parts", 2, proc)
    actors = _poll("2 actors", lambda: _both_actors(cluster))
    os.kill(actors[0], signal.SIGKILL)
    assert done < _pieces(data["src"])  # the kill struck mid-job
    summary = _finish(proc)
    assert summary["rows"] == len(data["rows"]) and summary["rejected"] == 8
    _assert_same(read_output(out), data, tmp_path / "out.jsonl.rejects.jsonl")
    assert actors[0] not in cluster.processes("ray::ShardScorer")


def test_a_killed_driver_resumes_exactly_once(cluster, data, tmp_path):
    out = tmp_path / "out"
    staging = tmp_path / "out.partial.parts"
    proc = _score(cluster, data["src"], f"{out}/")
    total = _pieces(data["src"])
    done = _wait_for_committed(staging, total // 3, proc)
    assert "service.cli" in Path(f"/proc/{proc.pid}/cmdline").read_text()
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert done < total and not out.exists() and (tmp_path / "out.partial.journal.json").is_file()
    again = _score(cluster, data["src"], f"{out}/")  # without --resume: refused, nothing touched
    _, err = again.communicate(timeout=120)
    assert again.returncode != 0 and "--resume" in err
    summary = _finish(_score(cluster, data["src"], f"{out}/", "--resume"))
    assert 0 < summary["resumed_from"] < len(data["rows"]) + 8
    assert summary["rows"] == len(data["rows"]) and summary["rejected"] == 8
    _assert_same(pq.read_table(out).to_pylist(), data, tmp_path / "out.rejects.jsonl")
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["model"]["sha256"] == load_artifact(DEFAULT_MODEL, "cpu").weights_sha256
    assert [s["input"]["part_no"] for s in manifest["shards"]] == list(range(total))
    assert not staging.exists() and not (tmp_path / "out.partial.journal.json").exists()


def test_bad_rows_in_several_files_and_pieces_give_the_local_rejects(cluster, data, tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    lines = data["src"].read_text().splitlines(keepends=True)
    third = len(lines) // 3
    (shards / "a.jsonl").write_text("".join(lines[:third]))
    (shards / "b.tsv").write_text("id\ttext\n" + "".join(_tsv_line(x) for x in lines[third : 2 * third]))
    rows = [json.loads(x) for x in lines[2 * third :] if x.rstrip().endswith("}")]
    pq.write_table(pa.Table.from_pylist(rows), shards / "c.parquet", row_group_size=500)
    files = sorted(str(p) for p in shards.iterdir())
    local_rows, local_rejects = [], []
    for f in files:  # the local engine, file by file
        out = tmp_path / f"local-{Path(f).name}.jsonl"
        score_file(load_artifact(DEFAULT_MODEL, "cpu"), f, str(out), progress=False)
        local_rows += read_output(out)
        rej = Path(f"{out}.rejects.jsonl")
        local_rejects += [{"file": f, **json.loads(x)} for x in (rej.read_text().splitlines() if rej.exists() else [])]
    summary = _finish(_score(cluster, shards, f"{tmp_path / 'out'}/"))
    got = pq.read_table(tmp_path / "out").to_pylist()
    assert [r["id"] for r in got] == [r["id"] for r in local_rows]
    assert [r["label"] for r in got] == [r["label"] for r in local_rows]
    rejects = [json.loads(x) for x in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert rejects == local_rejects and summary["rejected"] == len(rejects)
    assert {Path(r["file"]).name for r in rejects} == {"a.jsonl", "b.tsv", "c.parquet"}  # bad rows in every file


def _tsv_line(jsonl_line: str) -> str:
    try:
        row = json.loads(jsonl_line)
    except ValueError:
        return "broken\n"  # one field: a bad row
    return f"{row['id']}\t{row['text']}\n"


def test_removing_the_second_node_mid_job_completes_on_the_head(cluster, data, tmp_path):
    out = tmp_path / "out"
    proc = _score(cluster, data["src"], f"{out}/")
    done = _wait_for_committed(tmp_path / "out.partial.parts", 2, proc)
    node = _poll(  # an actor lives on the second node (SPREAD: one per node)
        "an actor on the second node",
        lambda: _second_node_with_an_actor(cluster),
    )
    for pid in node:
        os.kill(pid, signal.SIGKILL)
    assert done < _pieces(data["src"])
    summary = _finish(proc)
    assert summary["rows"] == len(data["rows"])
    _assert_same(pq.read_table(out).to_pylist(), data, tmp_path / "out.rejects.jsonl")
    assert not cluster.second_node_pids()
