"""`sentiment score`'s flags: the job options they describe, the combinations refused, and one real local run of
the committed model."""

import json

import pytest

from service.batch.command import job_options, run_score
from service.cli import build_parser


def parse(*argv: str):
    return build_parser().parse_args(["score", *argv])


def test_flags_become_the_job_options():
    opts = job_options(parse("in.csv", "-o", "out.jsonl", "--text-field", "body", "--window", "8", "--on-error",
                             "fail", "--resume", "--no-progress", "--format", "csv"))  # fmt: skip
    assert (opts.fmt, opts.text_field, opts.id_field, opts.window) == ("csv", "body", "id", 8)
    assert (opts.on_error, opts.resume, opts.restart, opts.progress) == ("fail", True, False, False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["a.jsonl", "-o", "a.jsonl"], "the output would overwrite the input"),
        (["a.jsonl", "-o", "b.jsonl", "--batch-size", "0"], "--batch-size and --window must be >= 1"),
        (["a.jsonl", "-o", "b.jsonl", "--via-api", "http://x", "--engine", "ray"], "two different engines"),
        (["a.jsonl", "-o", "b.jsonl", "--via-api", "http://x", "--precision", "int8"], "the server's settings decide"),
    ],
)
def test_refused_combinations_exit_2_with_the_reason(argv, message, capsys):
    assert run_score(parse(*argv)) == 2
    assert message in capsys.readouterr().err


def test_a_local_run_of_the_committed_model(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "I love it"}\n{"id": "b", "text": ""}\n{"id": "c", "text": "awful"}\n')
    out = tmp_path / "out.csv"
    assert run_score(parse(str(src), "-o", str(out), "--json", "--no-progress")) == 0
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (summary["rows"], summary["rejected"]) == (2, 1)
    header, *lines = out.read_text().splitlines()
    assert header.split(",")[:3] == ["id", "text", "label"] and [x.split(",")[0] for x in lines] == ["a", "c"]
