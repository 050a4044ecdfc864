"""The product's command: `sentiment --help` offers the product's verbs only; the tooling's are not among them."""

import re

import pytest

from service.cli import main
from service.core.cores import CPU_CHUNK

PRODUCT_VERBS = {"train", "quantize", "evaluate", "score", "serve"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_help_lists_exactly_the_product_verbs(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert set(re.findall(r"^    (\w+)\s", out, re.M)) == PRODUCT_VERBS
    assert "sentiment-lab" in out  # where the measurement verbs went


@pytest.mark.parametrize("verb", ["bench", "loadtest", "reliability"])
def test_the_tooling_verbs_are_unknown_to_the_product(verb, capsys):
    code, _, err = run([verb], capsys)
    assert code == 2 and "invalid choice" in err


@pytest.mark.parametrize("verb", ["score", "evaluate"])
def test_batch_size_help_says_what_a_cpu_forward_holds(verb, capsys):
    _, out, _ = run([verb, "--help"], capsys)
    assert f"a CPU forward holds at most {CPU_CHUNK} of them" in " ".join(out.split())
