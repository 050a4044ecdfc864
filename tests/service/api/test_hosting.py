"""The HTTP layer's public face for a foreign BentoML service (the bench's no-op twin)."""

import bentoml
import pytest
from pydantic import TypeAdapter, ValidationError

from service.api.hosting import HttpLayer, predict_api_options, text_type
from service.api.middleware import ServiceMiddleware
from service.api.settings import ServiceSettings


def test_the_text_type_accepts_what_validation_accepts(monkeypatch):
    monkeypatch.setenv("SENTIMENT_MAX_TEXT_CHARS", "5")
    text = TypeAdapter(text_type(ServiceSettings()))
    assert text.validate_python("hey") == "hey"
    for bad in ("", "   ", "toolong", "a\x00b"):
        with pytest.raises(ValidationError):
            text.validate_python(bad)


def test_predict_options_follow_the_settings(monkeypatch):
    monkeypatch.setenv("SENTIMENT_BATCHING", "false")
    monkeypatch.setenv("SENTIMENT_MAX_BATCH_SIZE", "32")
    assert predict_api_options(ServiceSettings()) == {"batchable": False, "max_batch_size": 32, "max_latency_ms": 2000}


def test_the_layer_is_the_services_middleware_and_takes_the_model_when_ready():
    @bentoml.service(name="hosting_probe")
    class Probe:
        @bentoml.api
        def predict(self, texts: list[str]) -> list[str]:
            return texts

    layer = HttpLayer(Probe, ServiceSettings())
    (cls, options), *_ = Probe.middlewares
    assert cls is ServiceMiddleware and options["state"] is layer.state and not layer.state.ready
    layer.model_ready({"name": "probe"}, lambda texts: [{"label": "neutral"}] * len(texts))
    assert layer.state.ready and layer.state.predict_batch(["a", "b"]) == [{"label": "neutral"}] * 2
