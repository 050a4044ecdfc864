"""Every path gives the same answer on clean real data, with the committed model, fp32 and int8.

The Ray engine once scored every clean row "negative" with NaN scores while its tests passed (their fixture always
had bad rows). Here the committed ``models/default`` scores 2,000 clean tweets from the shared data (no bad row)
through the in-process `Predictor` (the reference), `sentiment score` to .jsonl, .csv and .parquet,
``--engine ray`` (one file, and a directory of shards), ``--via-api`` against a real server, and ``POST /predict``
(single-text and 64-text requests at the same time): same ids in the same order, identical labels, scores within
1e-5. int8 paths are compared with the int8 in-process result. The same file with one bad line appended gives the
same rows and exactly one reject on the local, Ray and via-API engines.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from service.core.reference import (
    Answer,
    answers_from_rows,
    clean_tweets,
    compare,
    reference_answers,
    write_jsonl,
)
from tests.conftest import DEFAULT_MODEL, REPO, running_server
from tests.service.batch.test_scoring import read_output

pytestmark = pytest.mark.slow
PRECISIONS = ("fp32", "int8")


@pytest.fixture(scope="module")
def tweets():
    return clean_tweets(2000)


@pytest.fixture(scope="module")
def inputs(tweets, tmp_path_factory):
    d = tmp_path_factory.mktemp("cross-path-in")
    shards = d / "shards"
    shards.mkdir()
    thirds = [tweets[:700], tweets[700:1400], tweets[1400:]]
    write_jsonl(thirds[0], shards / "part-0.jsonl")
    with open(shards / "part-1.csv", "w", newline="", encoding="utf-8") as f:
        import csv

        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerows([t.id, t.text] for t in thirds[1])
    pq.write_table(pa.Table.from_pylist([{"id": t.id, "text": t.text} for t in thirds[2]]), shards / "part-2.parquet")
    return {
        "clean": write_jsonl(tweets, d / "clean.jsonl"),
        "with_bad": write_jsonl(tweets, d / "with_bad.jsonl", bad_line=True),
        "shards": shards,
    }


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """fp32: the committed model as it is; int8: a copy with its variant built by `sentiment quantize`."""
    d = tmp_path_factory.mktemp("cross-path-models") / "default"
    d.mkdir()
    for name in ["manifest.json", *json.loads((DEFAULT_MODEL / "manifest.json").read_text())["files"]]:
        shutil.copy(DEFAULT_MODEL / name, d / name)
    quantize = [sys.executable, "-m", "service.cli", "quantize", str(d)]
    subprocess.run(quantize, cwd=REPO, check=True, capture_output=True, timeout=600)
    return {"fp32": DEFAULT_MODEL, "int8": d}


@pytest.fixture(scope="module")
def reference(models, tweets):
    return {p: reference_answers(models[p], p, tweets) for p in PRECISIONS}


def sentiment(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


def _score(src: Path, out: Path | str, model: Path, precision: str, *extra: str) -> list[Answer]:
    """`sentiment score SRC -o OUT`; the rows it wrote (none read back for an output directory, OUT ending in /)."""
    sentiment(
        "score", str(src), "-o", str(out), "--model", str(model), "--precision", precision, "--no-progress", *extra
    )
    return [] if str(out).endswith("/") else answers_from_rows(read_output(Path(out)))


def _one_reject(out: Path) -> None:
    rejects = Path(f"{str(out).rstrip('/')}.rejects.jsonl").read_text().splitlines()
    assert len(rejects) == 1 and json.loads(rejects[0])["line"] == 2001, rejects


def test_the_reference_is_clean_and_varied(tweets, reference):
    assert len(tweets) == 2000 and len({t.id for t in tweets}) == 2000
    for precision in PRECISIONS:
        labels = {a.label for a in reference[precision]}
        assert labels == {"negative", "neutral", "positive"}  # a path stuck on one label cannot pass


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_local_engine_every_output_format(tmp_path, inputs, models, reference, precision, ext):
    got = _score(inputs["clean"], tmp_path / f"out.{ext}", models[precision], precision)
    compare(f"sentiment score .{ext} ({precision})", got, reference[precision])


@pytest.mark.parametrize("precision", PRECISIONS)
def test_local_engine_with_one_bad_line(tmp_path, inputs, models, reference, precision):
    out = tmp_path / "out.jsonl"
    got = _score(inputs["with_bad"], out, models[precision], precision)
    compare(f"sentiment score + bad line ({precision})", got, reference[precision])
    _one_reject(out)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_ray_engine_one_file_and_a_directory_of_shards(tmp_path, inputs, models, reference, precision):
    pytest.importorskip("ray")
    ray = ("--engine", "ray", "--ray-actors", "1", "--window", "512")
    got = _score(inputs["with_bad"], tmp_path / "ray.jsonl", models[precision], precision, *ray)
    compare(f"--engine ray, one file ({precision})", got, reference[precision])
    _one_reject(tmp_path / "ray.jsonl")
    out_dir = tmp_path / "ray-out"
    _score(inputs["shards"], f"{out_dir}/", models[precision], precision, *ray)
    rows = pq.read_table(out_dir).to_pylist()
    compare(f"--engine ray, directory of shards ({precision})", answers_from_rows(rows), reference[precision])
    assert {r["model_version"] for r in rows} == {reference_version(models[precision], precision)}


def reference_version(model: Path, precision: str) -> str:
    version = json.loads((model / "manifest.json").read_text())["version"]
    return version + ("+int8" if precision == "int8" else "")


@pytest.mark.parametrize("precision", PRECISIONS)
def test_the_api_and_via_api(tmp_path, inputs, tweets, models, reference, precision):
    args = ("--precision", precision, "--max-latency-ms", "60000")  # no shedding on a loaded CI machine
    with running_server(models[precision], *args) as url:
        out = tmp_path / "api.csv"
        sentiment("score", str(inputs["with_bad"]), "-o", str(out), "--via-api", url, "--no-progress")
        compare(f"--via-api ({precision})", answers_from_rows(read_output(out)), reference[precision])
        _one_reject(out)

        texts = [t.text for t in tweets]
        singles: dict[int, dict] = {}
        batched: dict[int, dict] = {}
        local = threading.local()  # one connection pool per client thread

        def post(idx: list[int], into: dict[int, dict]) -> None:
            if not hasattr(local, "http"):
                local.http = httpx.Client(base_url=url, timeout=120)
            r = local.http.post("/predict", json={"texts": [texts[i] for i in idx]})
            assert r.status_code == 200, r.text
            into.update(zip(idx, r.json(), strict=True))

        with ThreadPoolExecutor(48) as pool:
            jobs = [pool.submit(post, [i], singles) for i in range(len(texts))]
            jobs += [pool.submit(post, list(range(i, min(i + 64, len(texts)))), batched) for i in range(0, 2000, 64)]
            for job in jobs:  # both kinds were in flight at once, merged by the batcher
                job.result()
    for name, got in (("single-text", singles), ("64-text", batched)):
        rows = [{"id": t.id, **got[i]} for i, t in enumerate(tweets)]
        compare(f"POST /predict, {name} requests ({precision})", answers_from_rows(rows), reference[precision])
