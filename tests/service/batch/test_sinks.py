"""Output formats and durable writes: sinks and the job's file output, on real files (JSONL, CSV, Parquet)."""

import csv
import io
import json

import pyarrow.parquet as pq
import pytest

from service.batch.files import JobFiles
from service.batch.rows import ScoringError
from service.batch.sinks import FileOutput, ParquetSink, StreamOutput, TextSink, flatten_for_csv, output_format

ROW = {"id": "1", "label": "positive", "scores": {"negative": 0.1, "neutral": 0.2, "positive": 0.7}, "tags": ["a"]}
START = {"records_done": 0, "output_offset": 0, "rejects_offset": 0}


@pytest.mark.parametrize(
    ("path", "fmt"),
    [("-", "jsonl"), ("a.JSONL", "jsonl"), ("a.ndjson", "jsonl"), ("a.csv", "csv"), ("d.parquet", "parquet")],
)
def test_the_output_format_comes_from_the_name(path, fmt):
    assert output_format(path) == fmt


def test_an_unknown_output_name_is_refused():
    with pytest.raises(ScoringError, match="cannot tell the output format of 'out.txt'"):
        output_format("out.txt")


def test_csv_rows_have_score_columns_and_json_for_nested_values():
    assert flatten_for_csv(ROW) == {
        "id": "1", "label": "positive", "score_negative": 0.1, "score_neutral": 0.2, "score_positive": 0.7,
        "tags": '["a"]',
    }  # fmt: skip


def test_text_sinks_append_and_commit_returns_the_offset():
    buf = io.BytesIO()
    sink = TextSink(buf, "csv")
    sink.write([ROW])
    sink.write([{**ROW, "id": "2", "extra": "dropped"}])
    assert sink.commit() == len(buf.getvalue())
    rows = list(csv.DictReader(io.StringIO(buf.getvalue().decode())))
    assert [r["id"] for r in rows] == ["1", "2"] and sink.csv_fields[:2] == ["id", "label"]
    jsonl = io.BytesIO()
    TextSink(jsonl, "jsonl").write([ROW, ROW])
    assert [json.loads(x) for x in jsonl.getvalue().splitlines()] == [ROW, ROW]


def test_parquet_parts_commit_one_per_window_and_merge_in_order(tmp_path):
    sink = ParquetSink(tmp_path)
    sink.write([{"id": "1", "n": 1}])
    assert sink.commit() == 1
    assert sink.commit() == 1  # nothing pending: no empty part
    sink.write([{"id": "2", "n": 2.5}])  # another type in the column: merged with a common schema
    assert sink.commit() == 2
    sink.merge_into(tmp_path / "all.parquet")
    assert pq.read_table(tmp_path / "all.parquet").to_pylist() == [{"id": "1", "n": 1.0}, {"id": "2", "n": 2.5}]


def test_file_output_finishes_with_atomic_renames_and_rejects(tmp_path):
    files = JobFiles.of(str(tmp_path / "out.jsonl"))
    out = FileOutput(files, "jsonl", START)
    out.write([ROW], [{"line": 3, "id": "x", "error": "line 3: text is empty"}])
    state = out.commit()
    assert state["output_offset"] > 0 and state["rejects_offset"] > 0
    assert not files.output.exists()  # not before the job is complete
    assert out.finish(rejected=1) == str(files.rejects)
    assert [json.loads(x) for x in files.output.read_text().splitlines()] == [ROW]
    assert json.loads(files.rejects.read_text())["id"] == "x"
    assert not files.partial.exists() and not files.rejects_partial.exists()


def test_a_resumed_output_drops_what_was_never_committed(tmp_path):
    files = JobFiles.of(str(tmp_path / "out.jsonl"))
    out = FileOutput(files, "jsonl", START)
    out.write([ROW], [])
    committed = out.commit()
    out.write([{**ROW, "id": "uncommitted"}], [])  # written, then the process died before the commit
    out.close()
    resumed = FileOutput(files, "jsonl", {**committed, "records_done": 1})
    resumed.write([{**ROW, "id": "2"}], [])
    resumed.commit()
    assert resumed.finish(rejected=0) is None
    assert [json.loads(x)["id"] for x in files.output.read_text().splitlines()] == ["1", "2"]


def test_a_parquet_output_as_a_directory_of_parts(tmp_path):
    files = JobFiles.of(str(tmp_path / "scored"))
    out = FileOutput(files, "parquet", START, to_dir=True)
    out.write([{"id": "1"}], [])
    out.commit()
    out.finish(rejected=0)
    assert [p.name for p in files.output.iterdir()] == ["part-000000.parquet"]


def test_stream_output_writes_rows_to_stdout_and_rejects_to_stderr(capfd):
    out = StreamOutput()
    out.write([ROW], [{"line": 2, "id": "b", "error": "line 2: missing text"}])
    out.commit()
    assert out.finish(rejected=1) == "stderr"
    captured = capfd.readouterr()
    assert json.loads(captured.out) == ROW and "rejected:" in captured.err and "missing text" in captured.err
