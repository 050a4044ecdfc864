"""The load generator against the real Starlette echo server: counts, statuses, texts and paced load
(no timing assertions)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from loadtests.bench import servers
from loadtests.bench.loadgen import run_load
from service.api.launcher import free_port


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    port = free_port()
    with servers.started(servers.echo_cmd(port), port) as srv:
        yield srv.url


def test_closed_loop_counts_requests_and_texts(echo_url: str) -> None:
    bodies = [["a"], ["b", "c", "d"]]
    res = asyncio.run(run_load(echo_url + "/predict", bodies, concurrency=4, duration=1.0, warmup=0.2))
    s = res.summary()
    assert s["requests"] > 0
    assert s["status"] == {"200": s["requests"]}
    assert s["connection_errors"] == 0
    assert s["requests"] <= res.texts <= 3 * s["requests"]
    assert s["p50_ms"] <= s["p99_ms"] <= s["max_ms"]
    assert len(s["cdf_ms"]) == 101


def test_paced_load_stays_near_the_target_rate(echo_url: str) -> None:
    res = asyncio.run(run_load(echo_url + "/predict", [["a"]], concurrency=4, duration=2.0, warmup=0.2, rate=20))
    assert 0 < res.requests <= 2.0 * 20 + 4  # never more than the schedule allows


def test_non_200_answers_are_counted_not_hidden(echo_url: str) -> None:
    res = asyncio.run(run_load(echo_url + "/nope", [["a"]], concurrency=2, duration=0.5, warmup=0.1))
    assert res.requests > 0
    assert res.status.get("404") == res.requests
    assert res.texts == 0
