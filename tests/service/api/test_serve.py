"""`sentiment serve` flags -> SENTIMENT_* settings, and the cheap pre-flight checks (no server)."""

import json

import pytest
from pydantic import ValidationError

from service.api.serve import preflight, settings_env
from service.api.settings import ServiceSettings
from service.cli import build_parser


def test_flags_become_settings(monkeypatch):
    args = build_parser().parse_args(
        ["serve", "--model", "m", "--port", "8080", "--max-batch-size", "32", "--timeout", "5", "--no-batching"]
    )
    env = settings_env(args)
    assert env == {
        "SENTIMENT_MODEL_DIR": "m",
        "SENTIMENT_PORT": "8080",
        "SENTIMENT_MAX_BATCH_SIZE": "32",
        "SENTIMENT_TIMEOUT_S": "5",
        "SENTIMENT_BATCHING": "false",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = ServiceSettings()
    assert (s.port, s.max_batch_size, s.timeout_s, s.batching, s.host) == (8080, 32, 5, False, "127.0.0.1")


def test_invalid_settings_are_refused(monkeypatch):
    monkeypatch.setenv("SENTIMENT_DEVICE", "tpu")
    with pytest.raises(ValidationError, match="device"):
        ServiceSettings()
    monkeypatch.delenv("SENTIMENT_DEVICE")
    monkeypatch.setenv("SENTIMENT_API_KEY", "  ")
    with pytest.raises(ValidationError, match="api_key is empty"):
        ServiceSettings()


def test_concurrency_is_split_over_workers():
    assert ServiceSettings(max_concurrency=10, workers=3).max_concurrency_per_worker == 4


def test_preflight(tmp_path, tiny_model):
    assert preflight(tiny_model) is None
    assert "not found" in preflight(tmp_path / "nope")
    assert "no manifest.json" in preflight(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {"model.pt": "0" * 64}}))
    assert "model.pt is missing" in preflight(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    assert "not a valid manifest" in preflight(tmp_path)
