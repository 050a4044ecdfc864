"""The files of one job: their names next to the output, fsync helpers, and forgetting an interrupted run."""

from pathlib import Path

from service.batch.files import JobFiles, fsync_dir, fsync_path


def test_every_file_is_named_after_the_output(tmp_path):
    f = JobFiles.of(str(tmp_path / "out.jsonl"))
    assert f.output == tmp_path / "out.jsonl"
    assert [p.name for p in (f.partial, f.parts, f.journal, f.rejects, f.rejects_partial)] == [
        "out.jsonl.partial",
        "out.jsonl.partial.parts",
        "out.jsonl.partial.journal.json",
        "out.jsonl.rejects.jsonl",
        "out.jsonl.rejects.jsonl.partial",
    ]
    assert JobFiles.of(str(tmp_path / "scored") + "/").output == tmp_path / "scored"  # a parquet directory


def test_clear_forgets_the_interrupted_run_but_not_the_output(tmp_path):
    f = JobFiles.of(str(tmp_path / "out.parquet"))
    for p in (f.output, f.partial, f.journal, f.rejects_partial):
        p.write_text("x")
    f.parts.mkdir()
    (f.parts / "part-000000.parquet").write_text("x")
    f.clear()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]
    f.clear()  # nothing left to remove: no error


def test_fsync_of_files_and_directories(tmp_path: Path):
    (tmp_path / "a").write_text("x")
    fsync_path(tmp_path / "a")
    fsync_dir(tmp_path)
    fsync_dir(tmp_path / "missing")  # a directory that cannot be opened is skipped
