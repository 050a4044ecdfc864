"""The bad-input corpus against a real server: no 5xx, every refusal a clear 4xx, server healthy afterwards."""

import json
from urllib.parse import urlsplit

import pytest

from loadtests.reliability import badinput
from loadtests.reliability.badinput import Limits, expected_for, expected_for_bytes


@pytest.fixture(scope="module")
def tiny_server_hp(tiny_server):
    u = urlsplit(tiny_server)
    return u.hostname, u.port


@pytest.fixture(scope="module")
def hand_result(tiny_server_hp):
    host, port = tiny_server_hp
    return badinput.run_corpus(host, port, badinput.hand_written(Limits.from_settings()))


@pytest.fixture(scope="module")
def generated_result(tiny_server_hp):
    host, port = tiny_server_hp
    return badinput.run_corpus(host, port, badinput.generated(120, seed=8, limits=Limits.from_settings()))


def test_hand_written_corpus_gets_no_5xx_and_server_stays_healthy(hand_result):
    assert hand_result["cases"] >= 60
    assert hand_result["count_5xx"] == 0, [o for o in hand_result["outcomes"] if (o["status"] or 0) >= 500]
    assert hand_result["healthy_after"]


def test_hand_written_refusals_say_why(hand_result):
    assert hand_result["unclear_refusals"] == []


def test_hand_written_corpus_meets_every_expectation(hand_result):
    assert hand_result["violations"] == []


def test_generated_corpus_gets_no_5xx_and_meets_expectations(generated_result):
    assert generated_result["generated"] == 120
    assert generated_result["count_5xx"] == 0
    assert generated_result["violations"] == []
    assert generated_result["healthy_after"]


@pytest.mark.parametrize(
    "obj, expect",
    [
        ({"texts": ["I love it"]}, "2xx"),
        ({"texts": []}, "4xx"),
        ({"texts": ["   "]}, "4xx"),
        ({"texts": ["a" * 2001]}, "4xx"),
        ({"texts": ["ok", 3]}, "4xx"),
        ({"texts": ["\ud800"]}, "4xx"),
        ({"texts": ["ok"], "extra": 1}, "any"),
        ({"texts": [":) !!"]}, "any"),
        ([{"texts": ["ok"]}], "4xx"),
        (None, "4xx"),
    ],
)
def test_oracle(obj, expect):
    assert expected_for(obj, Limits()) == expect


def test_oracle_for_bytes():
    assert expected_for_bytes(b"\xff{", Limits()) == "4xx"
    assert expected_for_bytes(b'{"texts": NaN}', Limits()) == "4xx"
    assert expected_for_bytes(json.dumps({"texts": ["fine"]}).encode(), Limits()) == "any"
