"""The product's command: `sentiment --help` offers the product's verbs only; the tooling's are not among them."""

import re
import subprocess
import sys

from service.core.paths import REPO

PRODUCT_VERBS = {"train", "quantize", "evaluate", "score", "serve"}


def test_help_lists_exactly_the_product_verbs():
    out = subprocess.run(
        [sys.executable, "-m", "service.cli", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    listed = set(re.findall(r"^    (\w+)\s", out.stdout, re.M))
    assert listed == PRODUCT_VERBS
    assert "sentiment-lab" in out.stdout  # where the measurement verbs went


def test_the_tooling_verbs_are_unknown_to_the_product():
    for verb in ("bench", "loadtest", "reliability"):
        out = subprocess.run(
            [sys.executable, "-m", "service.cli", verb], cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 2 and "invalid choice" in out.stderr, verb


def test_batch_size_help_says_what_a_cpu_forward_holds():
    from service.core.cores import CPU_CHUNK

    for verb in ("score", "evaluate"):
        out = subprocess.run(
            [sys.executable, "-m", "service.cli", verb, "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
        )
        text = " ".join(out.stdout.split())
        assert f"a CPU forward holds at most {CPU_CHUNK} of them" in text, verb
