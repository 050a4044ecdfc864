"""Faults: SIGKILL of a worker under load, SIGTERM with requests in flight, batch scoring killed and resumed,
outputs that cannot be written."""

import pytest

from loadtests.reliability import faults
from loadtests.reliability.server import running

TIMEOUT_S = 10
ENV = {"SENTIMENT_TIMEOUT_S": str(TIMEOUT_S)}


@pytest.fixture(scope="module")
def worker_killed(tiny_model):
    with running(tiny_model, env=ENV) as s:
        yield faults.kill_worker_under_load(s, concurrency=6, server_timeout_s=TIMEOUT_S, limit_s=120)


@pytest.mark.slow
def test_sigkill_of_a_worker_recovers(worker_killed):
    r = worker_killed
    assert r["requests"] > 0
    assert r["server_alive"], r
    assert r["worker_restarted"], r
    assert r["recovery_s"] is not None, r


@pytest.mark.slow
def test_sigkill_of_a_worker_leaves_no_request_hanging(worker_killed):
    assert worker_killed["hung_past_timeout"] == 0, worker_killed


@pytest.mark.slow
def test_sigterm_lets_in_flight_requests_finish(tiny_model):
    with running(tiny_model, env=ENV) as s:
        r = faults.sigterm_drain(s, in_flight=8, texts=256, server_timeout_s=TIMEOUT_S)
    assert r["completed_200"] == r["in_flight"], r
    assert r["exit_seconds"] is not None


@pytest.mark.slow
def test_batch_killed_mid_job_resumes_with_exactly_one_row_per_input(tiny_model, tmp_path):
    r = faults.batch_kill_and_resume(tiny_model, tmp_path, rows=20_000)
    assert r["killed_mid_job"], r
    assert r["resume_exit_code"] == 0, r
    assert r["lost"] == 0 and r["duplicated"] == 0 and r["unexpected"] == 0, r
    assert r["exactly_once"], r


def test_write_input_marks_bad_rows(tmp_path):
    good, bad = faults.write_input(tmp_path / "in.jsonl", 200, bad_every=10)
    assert len(good) == 180 and len(bad) == 20 and not good & bad


@pytest.fixture(scope="module")
def unwritable(tiny_model, tmp_path_factory):
    return {c["case"]: c for c in faults.unwritable_outputs(tiny_model, tmp_path_factory.mktemp("unwritable"))}


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        "output parent is a file",
        "output is a directory",
        "disk full (stdout is /dev/full)",
        "file size limit 16 KiB (disk fills mid-job)",
    ],
)
def test_unwritable_output_fails_clearly_and_leaves_nothing_half_written(unwritable, case):
    r = unwritable[case]
    assert r["exit_code"] != 0, r
    assert r["clear_error"], r
    assert r["no_final_output"], r
    assert r["input_untouched"], r
