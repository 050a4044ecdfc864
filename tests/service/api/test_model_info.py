"""GET /model's content from the committed model and real settings."""

import pytest

from service.api.model_info import ModelInfo, describe_device, model_info
from service.api.settings import ServiceSettings
from service.core.artifact import load_artifact
from service.core.paths import DEFAULT_MODEL_DIR


@pytest.fixture(scope="module")
def artifact():
    return load_artifact(DEFAULT_MODEL_DIR, "cpu")


def test_the_served_model_settings_and_limits(artifact, monkeypatch):
    monkeypatch.setenv("SENTIMENT_MAX_TEXTS", "17")
    monkeypatch.setenv("SENTIMENT_BATCHING", "false")
    info = model_info(artifact, ServiceSettings(), 3)
    m = artifact.manifest
    assert (info["name"], info["version"], info["labels"]) == (m.name, m.version, m.labels)
    assert info["sha256"] == m.files["model.pt"] and info["files"] == m.files
    assert (info["device"], info["precision"], info["torch_threads"]) == ("cpu", "fp32", 3)
    assert info["batching"]["enabled"] is False
    assert info["limits"] == {"max_texts": 17, "max_text_chars": 2000, "max_body_bytes": 1_048_576}
    assert ModelInfo.model_validate(info).loaded_at == info["loaded_at"]


def test_describe_device_on_the_cpu(artifact):
    assert describe_device(artifact) == "cpu"
