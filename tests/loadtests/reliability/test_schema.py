"""Schemathesis (`--checks all`) against the server's own /docs.json: the document and the server agree."""

import pytest

from loadtests.reliability.schema import run_schemathesis


@pytest.fixture(scope="module")
def schema_result(tiny_server):
    return run_schemathesis(tiny_server, max_examples=15, max_time_s=60, seed=3)


def test_schemathesis_ran_every_operation(schema_result):
    assert schema_result["operations_tested"] >= 16  # 7 of BentoML's and GET /model, 9 of the V2 protocol
    assert schema_result["test_cases"] > 20
    assert schema_result["errors"] == []


def test_schemathesis_finds_no_server_error(schema_result):
    assert schema_result["server_errors"] == 0, schema_result["details"]


def test_responses_match_the_schema(schema_result):
    assert schema_result["schema_violations"] == 0, schema_result["details"]


def test_every_schemathesis_check_passes(schema_result):
    # e.g. ST202 (a schema-valid body rejected: the body must be declared required and closed) and ST204 (a 405
    # without the Allow header RFC 9110 requires) were found here before the document and the server agreed
    assert schema_result["failures"] == [], schema_result["details"]
