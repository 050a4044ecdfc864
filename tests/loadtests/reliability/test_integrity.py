"""Broken model directories are refused at load and at `sentiment serve` start; nothing is ever unpickled."""

import pytest

from loadtests.reliability import integrity
from tests.conftest import train_tiny


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    """A second, different model (other dimensions and data slice) to take files from."""
    return train_tiny(
        tmp_path_factory.mktemp("other"), "other", ["--embed-dim", "24", "--hidden-dim", "12", "--limit", "1200"]
    )


BINDING = {"model.pt of another model (hash swapped in)", "vocab.json of another model (hash swapped in)"}


@pytest.mark.parametrize("case", [c for c in integrity.CASES if c.name not in BINDING], ids=lambda c: c.name)
def test_broken_model_is_refused_with_a_specific_message(case, tiny_model, tmp_path):
    d = integrity.build(case, tiny_model, tmp_path)
    r = integrity.check_load(case, d)
    assert r["refused"], r
    assert r["message_matches"], r
    assert not r["unpickled"]


@pytest.mark.parametrize("case", [c for c in integrity.CASES if c.name in BINDING], ids=lambda c: c.name)
def test_files_of_another_model_are_refused(case, tiny_model, other_model, tmp_path):
    d = integrity.build(case, tiny_model, tmp_path, other_model)
    r = integrity.check_load(case, d)
    assert r["refused"] and not r["unpickled"], r
    assert "exported with another vocabulary" in r["message"], r


def test_serve_refuses_a_tampered_model_at_start(tiny_model, tmp_path):
    d = integrity.build(integrity.CASES[0], tiny_model, tmp_path)
    r = integrity.serve_refuses(d)
    assert r["exit_code"] == 2
    assert "sha256 mismatch" in r["message"]
    assert not r["traceback"]


def test_service_code_never_unpickles():
    assert integrity.unsafe_loads() == []
