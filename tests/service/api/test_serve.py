"""`sentiment serve` flags -> SENTIMENT_* settings, and the cheap pre-flight checks (no server)."""

import json

import pytest
from pydantic import ValidationError

from service.api.serve import FLAGS, flag_of, preflight, settings_env
from service.api.settings import ServiceSettings
from service.cli import build_parser


def test_every_flag_help_is_its_settings_field(capsys):
    """One source: a flag's help and default are the settings field's (changing settings.py changes --help)."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for field in FLAGS.values():
        info = ServiceSettings.model_fields[field]
        assert info.description and " ".join(info.description.split()) in shown, field
        assert f"SENTIMENT_{field.upper()})" in shown
    assert flag_of("max_texts") == (int, "texts per /predict request (default: 256; SENTIMENT_MAX_TEXTS)")
    assert flag_of("model_dir")[1].endswith("(default: models/default; SENTIMENT_MODEL_DIR)")


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
