"""scripts/install-chromium.sh (run by .ci/run before `make test`): quick and quiet when the browser is installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import REPO


def test_an_installed_browser_is_left_alone(tmp_path: Path):
    paths = {}
    for name in ("chromium", "chromedriver"):
        paths[name] = tmp_path / name
        paths[name].write_text("#!/bin/sh\n")
        paths[name].chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "SENTIMENT_CHROMIUM": str(paths["chromium"])}
    env["SENTIMENT_CHROMEDRIVER"] = str(paths["chromedriver"])
    out = subprocess.run(
        [REPO / "scripts" / "install-chromium.sh"], env=env, capture_output=True, text=True, timeout=10, check=True
    )
    assert (out.stdout, out.stderr) == ("installed\n", "")
