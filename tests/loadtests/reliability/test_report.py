"""The report: one table row per scenario with its figures, and the `sentiment-lab reliability` command."""

from loadtests.cli import build_parser
from loadtests.reliability import report

RESULTS = {
    "meta": {"date": "2026-01-01 00:00 UTC"},
    "badinput": {
        "cases": 3,
        "hand_written": 2,
        "generated": 1,
        "count_4xx": 2,
        "count_2xx": 1,
        "count_5xx": 0,
        "no_response": 0,
        "violations": [],
        "healthy_after": True,
        "by_category": {"json": {"4xx": 2}},
    },
    "schema": {"error": "RuntimeError: boom"},
    "batch_resume": {
        "rows": 10,
        "bad_rows": 1,
        "killed_mid_job": True,
        "rows_on_disk_at_kill": 3,
        "resume_exit_code": 0,
        "lost": 0,
        "duplicated": 1,
        "exactly_once": False,
    },
}


def test_rows_and_verdicts():
    rows = {name: (fig, ok) for name, fig, ok in report.summary_rows(RESULTS)}
    bad = rows["Bad input: hand-written + hypothesis bodies, raw HTTP"]
    assert bad[1] is True and "**0 5xx**" in bad[0]
    assert rows["Schemathesis on /docs.json"] == ("not run: RuntimeError: boom", None)
    resume = rows["Batch scoring SIGKILLed mid-job, then --resume"]
    assert resume[1] is False and "duplicated 1" in resume[0]


def test_render_and_write(tmp_path):
    report.write(RESULTS, tmp_path / "r.md", tmp_path / "r.json", "sentiment-lab reliability --model m")
    md = (tmp_path / "r.md").read_text()
    assert "| scenario | figures | result |" in md and "**FAIL**" in md and "| json | 2 4xx |" in md
    assert (tmp_path / "r.json").read_text().startswith("{")


def test_cli_has_the_reliability_command():
    args = build_parser().parse_args(["reliability", "--scenarios", "badinput", "--overload-seconds", "120"])
    assert args.scenarios == "badinput" and args.overload_seconds == 120
