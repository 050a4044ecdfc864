"""Prediction metrics: one model batch moves the counters and histograms by what the batch holds (real
prometheus_client registry, real `Encoded` texts)."""

import numpy as np
from prometheus_client import REGISTRY

from service.api.monitoring import get_metrics
from service.core.features import Encoded

LABELS = ("negative", "neutral", "positive")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_one_batch_moves_every_metric_by_its_contents():
    m = get_metrics(LABELS)
    assert get_metrics(LABELS) is m  # one set per process: prometheus refuses a second registration
    before = {
        "pos": sample("sentiment_predictions_total", label="positive"),
        "neg": sample("sentiment_predictions_total", label="negative"),
        "tokens": sample("sentiment_tokens_total"),
        "oov": sample("sentiment_oov_tokens_total"),
        "batches": sample("sentiment_batch_size_count"),
        "chars": sample("sentiment_text_length_chars_sum"),
        "confident": sample("sentiment_prediction_confidence_bucket", le="0.9"),
    }
    texts = ["good", "bad day", "so good"]
    encoded = [Encoded([2], [(1,)], 0), Encoded([3, 4], [(1,), (2,)], 1), Encoded([5, 2], [(1,), (1,)], 2)]
    probs = np.array([[0.1, 0.1, 0.8], [0.7, 0.2, 0.1], [0.05, 0.05, 0.9]], dtype=np.float32)  # (N, C)
    m.observe_batch(texts, encoded, probs)
    assert sample("sentiment_predictions_total", label="positive") - before["pos"] == 2
    assert sample("sentiment_predictions_total", label="negative") - before["neg"] == 1
    assert sample("sentiment_tokens_total") - before["tokens"] == 5
    assert sample("sentiment_oov_tokens_total") - before["oov"] == 3
    assert sample("sentiment_batch_size_count") - before["batches"] == 1
    assert sample("sentiment_text_length_chars_sum") - before["chars"] == len("good") + len("bad day") + len("so good")
    assert sample("sentiment_prediction_confidence_bucket", le="0.9") - before["confident"] == 3  # 0.8, 0.7, 0.9


def test_rejections_and_in_flight_are_labelled():
    m = get_metrics(LABELS)
    before = sample("sentiment_rejected_requests_total", status="413", reason="body_too_large")
    m.rejected.labels(status="413", reason="body_too_large").inc()
    assert sample("sentiment_rejected_requests_total", status="413", reason="body_too_large") - before == 1
    m.in_flight.inc()
    m.in_flight.dec()
