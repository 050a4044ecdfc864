"""The tracing section of the bench: its OTLP sink accepts exports over real HTTP, and its table."""

from __future__ import annotations

import urllib.request

from loadtests.bench.tracing import DEFAULT_RATIO, render, sink, span_cost
from service.api.settings import ServiceSettings


def test_sink_accepts_otlp_exports() -> None:
    with sink() as s:
        request = urllib.request.Request(
            s.url + "/v1/traces", data=b"\x0a\x00", headers={"Content-Type": "application/x-protobuf"}
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.status == 200
        assert (s.exports, s.bytes) == (1, 2)


def test_table_marks_the_default_and_the_cost() -> None:
    assert ServiceSettings().trace_sample == DEFAULT_RATIO
    row = {"rps_runs": [1000.0, 990.0], "p99_ms_median": 40.0, "non_200": 0, "server_cpu_us_per_request": 700.0}
    res = {
        "what": "x",
        "exports_received": 3,
        "default_ratio": DEFAULT_RATIO,
        "span_cost": {"decide_us": 0.1, "span_us": 60.0, "expected_cost_at_default": 0.0045},
        "table": [
            {**row, "ratio": 0.0, "rps_median": 1000.0, "cost_vs_0": 0.0, "cpu_cost_vs_0": 0.0},
            {**row, "ratio": DEFAULT_RATIO, "rps_median": 980.0, "cost_vs_0": 0.02, "cpu_cost_vs_0": 0.01},
        ],
    }
    text = render(res)
    assert f"| {DEFAULT_RATIO:g} (default) | 980 | 1000, 990 | 40.0 | 2.0% | 700 | 1.0% |" in text
    assert "= 0.45%" in text


def test_span_cost_times_both_pieces() -> None:
    """The decision costs far less than a sampled span (which is really built, encoded and posted to the sink)."""
    pieces = span_cost(200)
    assert 0 < pieces["decide_us"] < pieces["span_us"]
