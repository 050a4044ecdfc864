"""`sentiment score` (local engine): every input and output format, quirky rows, exactly-once resume after a real
SIGKILL, and refusal to resume a changed input or model."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from service.batch.engines.local import score_file
from service.batch.rows import ScoringError
from service.core.artifact import load_artifact
from service.core.paths import REPO
from service.core.predictor import Predictor

TEXTS = [
    "what a great game tonight!!",
    "my flight got cancelled again, furious",
    "the store opens at 9",
    "I love this so much",
    "worst service ever",
    "tomorrow is Tuesday",
]


@pytest.fixture(scope="module")
def artifact(tiny_model):
    return load_artifact(tiny_model, "cpu")


@pytest.fixture(scope="module")
def expected(artifact):
    """Labels straight from the Predictor (the API's code path), per text."""
    return {t: p.label for t, p in zip(TEXTS, Predictor(artifact).predict(TEXTS), strict=True)}


def read_output(path: Path) -> list[dict]:
    name = str(path)
    if name.endswith(".parquet"):
        return pq.read_table(path).to_pylist()
    if name.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_inputs(d: Path) -> dict[str, Path]:
    """The same six texts in every input format."""
    rows = [{"id": f"t{i}", "text": t, "lang": "en"} for i, t in enumerate(TEXTS)]
    files = {}
    files["jsonl"] = d / "in.jsonl"
    files["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in rows))
    files["jsonl.gz"] = d / "in.jsonl.gz"
    with gzip.open(files["jsonl.gz"], "wt") as f:
        f.write(files["jsonl"].read_text())
    files["csv"] = d / "in.csv"
    with open(files["csv"], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["id", "text", "lang"])
        w.writeheader()
        w.writerows(rows)
    files["tsv"] = d / "in.tsv"  # with a header row
    files["tsv"].write_text("id\ttext\tlang\n" + "".join(f"{r['id']}\t{r['text']}\ten\n" for r in rows))
    files["semeval.tsv"] = d / "semeval.tsv"  # no header, gold label column, quirks
    files["semeval.tsv"].write_text(
        "".join(f't{i}\tneutral\t"{t}"\t\n' if i % 2 else f"t{i}\tpositive\t{t}\n" for i, t in enumerate(TEXTS))
    )
    files["txt"] = d / "in.txt"
    files["txt"].write_text("\n".join(TEXTS))  # no final newline
    files["txt.gz"] = d / "in.txt.gz"
    with gzip.open(files["txt.gz"], "wt") as f:
        f.write("\n".join(TEXTS) + "\n")
    files["parquet"] = d / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), files["parquet"])
    return files


@pytest.mark.parametrize("kind", ["jsonl", "jsonl.gz", "csv", "tsv", "semeval.tsv", "txt", "txt.gz", "parquet"])
def test_every_input_format(tmp_path, artifact, expected, kind):
    src = write_inputs(tmp_path)[kind]
    out = tmp_path / "out.jsonl"
    summary = score_file(artifact, str(src), str(out), progress=False)
    rows = read_output(out)
    assert summary.rows == len(rows) == len(TEXTS) and summary.rejected == 0
    assert [r["label"] for r in rows] == [expected[t] for t in TEXTS]  # input order kept
    for r in rows:
        assert r["model_version"] == artifact.manifest.version
        assert set(r["scores"]) == {"negative", "neutral", "positive"}
        assert sum(r["scores"].values()) == pytest.approx(1.0, abs=1e-4)
    if kind.startswith("txt"):
        assert [r["id"] for r in rows] == [str(i) for i in range(1, 7)]  # line numbers
    else:
        assert [r["id"] for r in rows] == [f"t{i}" for i in range(6)]
    if kind == "semeval.tsv":  # the gold label is kept, not overwritten by the prediction
        assert [r["input_label"] for r in rows] == ["positive", "neutral"] * 3
    elif not kind.startswith("txt"):
        assert all(r["lang"] == "en" for r in rows)
    assert not out.with_name("out.jsonl.partial").exists()
    assert not out.with_name("out.jsonl.partial.journal.json").exists()


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_every_output_format(tmp_path, artifact, expected, ext):
    src = write_inputs(tmp_path)["semeval.tsv"]
    out = tmp_path / f"out.{ext}"
    score_file(artifact, str(src), str(out), progress=False, window=4)  # several commits
    rows = read_output(out)
    assert [r["id"] for r in rows] == [f"t{i}" for i in range(6)]
    assert [r["label"] for r in rows] == [expected[t] for t in TEXTS]
    assert [r["input_label"] for r in rows] == ["positive", "neutral"] * 3
    if ext == "csv":
        assert {"score_negative", "score_neutral", "score_positive", "model_version"} <= rows[0].keys()
    else:
        assert rows[0]["scores"].keys() == {"negative", "neutral", "positive"}
    assert not list(tmp_path.glob("*.partial*"))


def test_stdin_to_stdout_through_the_cli(tmp_path, tiny_model, expected):
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "score", "-", "--format", "txt", "-o", "-", "--model", str(tiny_model)],
        input="\n".join(TEXTS) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["label"] for r in rows] == [expected[t] for t in TEXTS]
    assert "scored 6 rows" in proc.stderr


def test_quirky_rows_go_to_rejects_with_line_numbers(tmp_path, artifact):
    src = tmp_path / "bad.jsonl"
    src.write_bytes(
        b'{"id": "a", "text": "fine one"}\n'
        b"{broken json\n"
        b'{"id": "c"}\n'
        b'{"id": "d", "text": "bad \xff bytes"}\n'
        b'{"id": "e", "text": "   "}\n'
        b"\n"
        b'["not", "an", "object"]\n'
        b'{"id": "h", "text": "fine two"}'  # no final newline
    )
    out = tmp_path / "out.jsonl"
    summary = score_file(artifact, str(src), str(out), progress=False)
    assert [r["id"] for r in read_output(out)] == ["a", "h"]
    rejects = [json.loads(line) for line in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 3, 4, 5, 7]
    assert "invalid JSON" in rejects[0]["error"] and "missing text" in rejects[1]["error"]
    assert "UTF-8" in rejects[2]["error"] and "empty" in rejects[3]["error"] and "JSON object" in rejects[4]["error"]
    assert summary.rows == 2 and summary.rejected == 5


def test_on_error_fail_stops_with_the_line_and_no_final_output(tmp_path, artifact):
    src = tmp_path / "bad.csv"
    src.write_text('id,text\n1,ok\n2,"fine"\n3,\n4,more\n')
    out = tmp_path / "out.csv"
    with pytest.raises(ScoringError, match="line 4: missing text|line 4: text is empty"):
        score_file(artifact, str(src), str(out), on_error="fail", progress=False)
    assert not out.exists()


def test_csv_extra_columns_and_nested_fields(tmp_path, artifact):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "text": "hello there", "meta": {"a": [1, 2]}, "label": "positive"}) + "\n")
    out = tmp_path / "out.csv"
    score_file(artifact, str(src), str(out), progress=False)
    (row,) = read_output(out)
    assert json.loads(row["meta"]) == {"a": [1, 2]} and row["input_label"] == "positive"


# ------------------------------------------------------------------------------------------ exactly-once resume


def big_input(path: Path, n: int) -> Path:
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"r{i}", "text": f"{TEXTS[i % len(TEXTS)]} #{i}"}) + "\n")
            if i % 997 == 0:
                f.write("{not json\n")  # a bad row now and then: rejects must be exactly-once too
    return path


def cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "score", *args, "--no-progress"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kw,
    )


def test_cli_reports_bad_output_extension_and_same_file(tmp_path, tiny_model):
    src = tmp_path / "in.txt"
    src.write_text("hello\n")
    p = cli(str(src), "-o", str(tmp_path / "out.xlsx"), "--model", str(tiny_model))
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "output format" in err
    p = cli(str(src), "-o", str(src), "--model", str(tiny_model))
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "overwrite the input" in err


def test_int8_scoring_is_marked_in_every_row(tmp_path, tiny_model):
    src = big_input(tmp_path / "in.jsonl", 50)
    out = tmp_path / "out.jsonl"
    score_file(load_artifact(tiny_model, "cpu", precision="int8"), str(src), str(out), progress=False)
    rows = read_output(out)
    assert rows and all(r["model_version"].endswith("+int8") for r in rows)


def test_stdin_defaults_to_json_lines_and_a_missing_input_says_so(tmp_path, tiny_model):
    p = cli("-", "-o", "-", "--model", str(tiny_model), "--no-progress", stdin=subprocess.PIPE)
    out, err = p.communicate('{"id": "a", "text": "I love it"}\n{"id": "b", "text": "worst day"}\n', timeout=120)
    assert p.returncode == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "b"]
    p = cli(str(tmp_path / "nonexistent"), "-o", str(tmp_path / "x.jsonl"), "--model", str(tiny_model))
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and f"input file not found: {tmp_path / 'nonexistent'}" in err
    assert "cannot tell the format" not in err


def test_json_output_is_strict_even_for_non_finite_input_fields(tmp_path, artifact):
    """Scores are checked finite; a NaN or Infinity that comes in with the input's own fields is written as null
    (JSON has no NaN token: a strict reader, e.g. `jq` or Go's encoding/json, would reject the whole file)."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "good day", "x": NaN, "y": [Infinity, 2.0]}\n')
    out = tmp_path / "out.jsonl"
    score_file(artifact, str(src), str(out), progress=False)
    line = out.read_text()
    assert "NaN" not in line and "Infinity" not in line
    row = json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON token {c}"))
    assert row["x"] is None and row["y"] == [None, 2.0]
