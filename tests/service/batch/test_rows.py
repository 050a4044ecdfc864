"""Output rows, rejects and the summary: what every engine writes for scored and bad records."""

import json
import math
from collections import Counter

import numpy as np
import pytest

from service.batch.rows import ScoreSummary, ScoringError, build_rows, json_line, reject_row
from service.core.records import Record

LABELS = ("negative", "neutral", "positive")


def recs(n: int) -> list[Record]:
    return [Record(i, i + 2, f"id{i}", f"text {i}", "positive", {"label": "positive", "lang": "en"}) for i in range(n)]


def test_rows_keep_ids_and_input_fields_and_rename_the_input_label():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32)
    rows = build_rows(recs(2), probs, LABELS, "m:1")
    assert [r["id"] for r in rows] == ["id0", "id1"]
    assert rows[0] == {
        "id": "id0", "lang": "en", "input_label": "positive", "label": "negative",
        "scores": {"negative": 0.7, "neutral": 0.2, "positive": 0.1}, "model_version": "m:1",
    }  # fmt: skip


def test_one_prediction_per_record_or_nothing():
    with pytest.raises(ScoringError, match="returned 1 predictions for 2 texts"):
        build_rows(recs(2), np.array([[0.2, 0.3, 0.5]]), LABELS, "m")


def test_invalid_scores_name_their_lines_and_ids():
    probs = np.array([[0.2, 0.3, 0.5], [np.nan, 0.5, 0.5]], dtype=np.float32)
    with pytest.raises(ScoringError, match=r"for 1 of 2 rows of this window: line 3 \(id id1\)"):
        build_rows(recs(2), probs, LABELS, "m")


def test_reject_rows_with_and_without_the_file():
    bad = Record(4, 9, "x", None, error="line 9: missing text")
    assert reject_row(bad) == {"line": 9, "id": "x", "error": "line 9: missing text"}
    assert reject_row(bad, "in/a.jsonl")["file"] == "in/a.jsonl"


def test_json_lines_are_strict_json_with_non_finite_input_fields_as_null():
    line = json_line({"id": "1", "extra": [math.nan, 1.5, {"x": math.inf}], "t": "café"})
    assert json.loads(line) == {"id": "1", "extra": [None, 1.5, {"x": None}], "t": "café"}
    assert "NaN" not in line and "café" in line


def test_the_summary_counts_rows_labels_and_speed():
    s = ScoreSummary(output="out.jsonl", seconds=2.0, resumed_from=1)
    s.add([{"label": "positive"}, {"label": "negative"}, {"label": "positive"}], rejected=2)
    assert (s.rows, s.rejected, s.labels) == (3, 2, Counter(positive=2, negative=1))
    assert s.rows_per_second == 2.0  # (3 + 2 - 1) records in 2 s
    d = s.as_dict()
    assert d["labels"] == {"negative": 1, "positive": 2} and d["rows_per_second"] == 2.0
    s.rejects = "out.jsonl.rejects.jsonl"
    text = s.describe()
    assert "scored 3 rows -> out.jsonl" in text and "resumed after 1 records" in text
    assert "positive 66.7%" in text and "2 bad rows set aside in out.jsonl.rejects.jsonl" in text
