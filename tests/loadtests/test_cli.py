"""The tooling's own command, `sentiment-lab` (``python -m loadtests``): bench, loadtest and reliability, each
flag with a help text."""

import re
import subprocess
import sys

import pytest

from loadtests.cli import build_parser
from service.core.paths import REPO


def test_python_m_loadtests_lists_the_measurement_verbs():
    out = subprocess.run([sys.executable, "-m", "loadtests", "--help"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: sentiment-lab")
    for verb in ("bench", "loadtest", "reliability"):
        assert re.search(rf"^    {verb}\b", out.stdout, re.M), verb


@pytest.mark.parametrize("verb", ["bench", "loadtest", "reliability"])
def test_every_flag_says_what_it_does(verb: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        build_parser().parse_args([verb, "--help"])
    lines = capsys.readouterr().out.split("options:\n", 1)[1].splitlines()
    flags = [(i, line.split()) for i, line in enumerate(lines) if line.startswith("  --")]
    assert len(flags) >= 4
    silent = []
    for i, words in flags:
        has_text = len(words) > 2 or (len(words) == 2 and not words[1].isupper())  # "--flag METAVAR text..."
        follows = i + 1 < len(lines) and lines[i + 1].startswith(" " * 10)
        if not (has_text or follows):
            silent.append(words[0])
    assert silent == []


def test_reports_go_to_build_by_default():
    p = build_parser()
    assert p.parse_args(["bench"]).out == "build/bench"
    assert p.parse_args(["loadtest"]).out == "build/loadtest"
    assert p.parse_args(["reliability"]).out == "build/reliability.md"
