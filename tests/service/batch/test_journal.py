"""The resume journal and the fingerprints that make a resume safe, on real files."""

import gzip
import json

import pytest

from service.batch.journal import JOURNAL_VERSION, Journal, input_fingerprint
from service.batch.rows import ScoringError

MODEL = {"name": "m", "version": "1", "sha256": "ab" * 32}
OPTIONS = {"window": 4096, "on_error": "skip"}


def test_the_fingerprint_and_line_count_of_plain_and_gzip_inputs(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"text": "a"}\n{"text": "b"}\n{"text": "c"}')  # no final newline: still 3 lines
    fp, lines = input_fingerprint(str(p))
    assert lines == 3 and fp["size"] == p.stat().st_size and len(fp["sha256"]) == 64
    g = tmp_path / "in.jsonl.gz"
    g.write_bytes(gzip.compress(b"a\nb\n"))
    assert input_fingerprint(str(g))[1] == 2


def test_save_then_load_gives_the_same_journal(tmp_path):
    fp, _ = input_fingerprint(__file__)
    j = Journal.new(tmp_path / "j.json", fp, MODEL, OPTIONS)
    j.data.update(records_done=10, output_offset=123)
    j.save()
    again = Journal.load(tmp_path / "j.json")
    assert again is not None and again.data == j.data and again.data["journal_version"] == JOURNAL_VERSION
    assert not (tmp_path / "j.tmp").exists()
    assert Journal.load(tmp_path / "absent.json") is None


def test_an_unreadable_or_foreign_journal_is_refused(tmp_path):
    (tmp_path / "j.json").write_text("{half")
    with pytest.raises(ScoringError, match="unreadable"):
        Journal.load(tmp_path / "j.json")
    (tmp_path / "j.json").write_text(json.dumps({"journal_version": 0}))
    with pytest.raises(ScoringError, match="another version"):
        Journal.load(tmp_path / "j.json")


def test_resume_is_refused_when_input_model_or_options_changed(tmp_path):
    fp, _ = input_fingerprint(__file__)
    j = Journal.new(tmp_path / "j.json", fp, MODEL, OPTIONS)
    j.check_resume(fp, MODEL, OPTIONS)  # nothing changed
    with pytest.raises(ScoringError, match="the input .* changed since the first run"):
        j.check_resume({**fp, "sha256": "0" * 64}, MODEL, OPTIONS)
    with pytest.raises(ScoringError, match="the model changed since the first run"):
        j.check_resume(fp, {**MODEL, "version": "2"}, OPTIONS)
    with pytest.raises(ScoringError, match="window: 4096 then, 128 now"):
        j.check_resume(fp, MODEL, {**OPTIONS, "window": 128})
