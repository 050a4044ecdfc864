"""The cold-start measurement of the tooling (loadtests/bench/coldstart.py) on a real `sentiment serve`."""

from pathlib import Path

import pytest

from loadtests.bench.coldstart import measure_cold_start


@pytest.mark.slow
def test_cold_start_is_measured(tiny_model: Path):
    r = measure_cold_start(tiny_model)
    assert 0 < r["ready_s"] <= r["first_predict_s"]
