"""Overload at 3x the measured saturation (bounded: ~10 s): excess shed with 429/503, nothing hangs past the
timeout, no crash, memory bounded, normal answers again afterwards. The long run: `sentiment-lab reliability
--scenarios overload --overload-seconds 120` (docs/reliability.md)."""

import pytest

from loadtests.reliability import overload
from loadtests.reliability.server import running

TIMEOUT_S = 10
# 64 texts a request keeps 3x saturation within what the Python client itself can send on 2 shared cores: with 16,
# the hot path's saturation (~800 req/s on the tiny model) meant ~2,500 new requests/s, the client fell behind
# and its pooled keep-alive connections raced the server's idle timeout (client-side errors, not the server's)
TEXTS = 64
ENV = {"SENTIMENT_MAX_TEXTS": "64", "SENTIMENT_MAX_CONCURRENCY": "16", "SENTIMENT_TIMEOUT_S": str(TIMEOUT_S)}


@pytest.fixture(scope="module")
def overload_run(tiny_model):
    with running(tiny_model, env=ENV) as s:
        sat = overload.measure_saturation(
            s.url, texts_per_request=TEXTS, levels=(1, 4, 16, 32), step_s=1.5, timeout=TIMEOUT_S + 5
        )
        r = overload.run_overload(
            s.url,
            factor=3.0,
            seconds=10,
            server_timeout_s=TIMEOUT_S,
            texts_per_request=TEXTS,
            saturation=sat,
            sample_memory=s.rss_bytes,
        )
        r["alive"] = s.proc.poll() is None
        yield r


pytestmark = pytest.mark.slow


def test_excess_is_shed_with_429_or_503(overload_run):
    r = overload_run
    assert r["sent"] >= 10 * r["saturation_rps"] * 2  # the offered load really was well over saturation
    assert r["shed"] > 0, r
    assert set(r["shed_statuses"]) <= {429, 503}


def test_no_server_errors_and_no_crash(overload_run):
    r = overload_run
    assert r["server_errors"] == 0, r["other_statuses"]
    assert r["no_answer"] == 0, r["no_answer_errors"]
    assert r["alive"]


def test_admitted_requests_meet_their_timeout(overload_run):
    assert overload_run["hung_past_timeout"] == 0, overload_run


def test_memory_bounded_and_recovers(overload_run):
    r = overload_run
    assert r["rss_peak_mb"] < r["rss_before_mb"] + 1000, r
    assert r["recovery_s"] != float("inf")
    assert r["throughput_after_rps"] > 0
