"""The one window loop: write, commit, journal, count; stop at a bad row with on_error=fail (real files)."""

import json

import numpy as np
import pytest

from service.batch.files import JobFiles
from service.batch.job import JobOptions, ScoringSettings, Window, progress_bar, run_windows
from service.batch.journal import Journal
from service.batch.rows import ScoreSummary, ScoringError
from service.batch.sinks import FileOutput
from service.core.records import Record, mark_bad_text

LABELS = ["negative", "neutral", "positive"]
START = {"records_done": 0, "output_offset": 0, "rejects_offset": 0}


def window(start: int, texts: list[str | None]) -> Window:
    records = [mark_bad_text(Record(start + i, start + i + 1, str(start + i), t)) for i, t in enumerate(texts)]
    good = [r for r in records if not r.bad]
    probs = np.tile(np.array([[0.1, 0.2, 0.7]], dtype=np.float32), (len(good), 1))  # (N, C)
    return Window(records, good, [r for r in records if r.bad], lambda: probs, source="in.jsonl")


def test_every_window_is_written_committed_and_journaled(tmp_path):
    files = JobFiles.of(str(tmp_path / "out.jsonl"))
    journal = Journal.new(files.journal, {"sha256": "x", "size": 1}, {"sha256": "m", "version": "1"}, {})
    summary = ScoreSummary()
    output = FileOutput(files, "jsonl", START)
    windows = [window(0, ["a", None, "b"]), window(3, ["c"])]
    run_windows(windows, output, summary, labels=LABELS, version="m:1", on_error="skip", bar=progress_bar(False),
                journal=journal)  # fmt: skip
    output.finish(summary.rejected)
    assert (summary.rows, summary.rejected) == (3, 1)
    saved = json.loads(files.journal.read_text())
    assert saved["records_done"] == 4 and saved["rows"] == 3 and saved["labels"] == {"positive": 3}
    assert saved["output_offset"] == files.output.stat().st_size
    assert [json.loads(x)["id"] for x in files.output.read_text().splitlines()] == ["0", "2", "3"]
    assert json.loads(files.rejects.read_text())["error"] == "line 2: missing text"


def test_on_error_fail_stops_before_the_window_with_a_bad_row(tmp_path):
    files = JobFiles.of(str(tmp_path / "out.jsonl"))
    output = FileOutput(files, "jsonl", START)
    summary = ScoreSummary()
    with pytest.raises(ScoringError, match="in.jsonl: line 5: text is empty; stopped"):
        run_windows([window(0, ["a", "b"]), window(2, ["c", "d", " "])], output, summary, labels=LABELS,
                    version="m", on_error="fail", bar=progress_bar(False))  # fmt: skip
    assert summary.rows == 2  # the first window stays committed
    output.close()


def test_job_options_and_settings_refuse_nonsense(monkeypatch):
    with pytest.raises(ValueError, match="on_error"):
        JobOptions(on_error="ignore")
    with pytest.raises(ValueError, match="window"):
        JobOptions(window=0)
    monkeypatch.setenv("SENTIMENT_SCORE_WINDOW", "128")
    assert ScoringSettings().window == 128
